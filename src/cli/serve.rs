//! `signet serve`.

use std::process::ExitCode;

use crate::app::Application;
use crate::config::ServeArgs;

pub fn run(args: ServeArgs) -> ExitCode {
    crate::telemetry::init(args.log_format);
    let settings = match args.into_settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("signet: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signet: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: crate::config::Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    if let Some(created) = &app.created_bootstrap_client {
        // Printed once, to stderr, and never logged: this is the only time the secret is shown.
        eprintln!(
            "\nsignet: created the bootstrap client (it holds every Management API scope).\n\
             \x20 client_id:     {}\n\
             \x20 client_secret: {}\n\
             Store the secret now; it is not shown again.\n",
            created.client_id,
            created.client_secret.expose()
        );
    }
    if let Some(created) = &app.created_admin {
        // Like the bootstrap secret: printed once, to stderr, never logged.
        eprintln!(
            "\nsignet: created the dashboard administrator ({}dashboard).\n\
             \x20 email:    {}\n\
             \x20 password: {}\n\
             Store the password now; it is not shown again (set SIGNET_ADMIN_PASSWORD to choose one).\n",
            app.issuer(),
            created.email,
            created.password.expose()
        );
    }
    // Handlers first: a SIGTERM sent as soon as the line below appears must stop the server
    // gracefully, not kill it.
    let shutdown = shutdown_signal()?;
    #[cfg(unix)]
    if !app.serves_tls() {
        ignore_hangups()?;
    }
    tracing::info!(address = %app.local_addr(), issuer = %app.issuer(), "signet is listening");
    app.run_until(shutdown).await?;
    tracing::info!("signet stopped");
    Ok(())
}

/// SIGINT or SIGTERM: stop accepting connections and finish in-flight requests. The handlers
/// are installed when this is called, not when the future is first polled.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    })
}

/// SIGHUP reloads the TLS certificate; without one there is nothing to reload, and a
/// `systemctl reload` must not stop the server (the default action of SIGHUP).
#[cfg(unix)]
fn ignore_hangups() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP received: nothing to reload without --tls-cert");
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received; finishing in-flight requests");
    })
}
