//! `signet openapi`: prints the OpenAPI document the server serves at `/api/v2/openapi.json`.
//! `docs/openapi.json` is this output, so a change of contract shows in review.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct OpenApiArgs {
    /// Write the document to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: OpenApiArgs) -> ExitCode {
    let text = crate::http::openapi::pretty();
    let written = match &args.out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write to standard output: {e}")),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet: {e}");
            ExitCode::FAILURE
        }
    }
}
