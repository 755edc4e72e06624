//! A `WHERE` clause assembled from list filters: the SQL text comes from the calling module's
//! own column names and operators, and every value travels as a bound parameter (`$n`), so the
//! same text runs on SQLite and PostgreSQL and no input is ever spliced into it.

use std::fmt::Write;

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

#[derive(Debug, Clone)]
enum Param {
    Text(String),
    Int(i64),
}

#[derive(Debug, Default)]
pub(crate) struct Conditions {
    clauses: Vec<String>,
    params: Vec<Param>,
}

impl Conditions {
    /// Binds a text value; returns its placeholder.
    pub fn text(&mut self, value: impl Into<String>) -> String {
        self.params.push(Param::Text(value.into()));
        format!("${}", self.params.len())
    }

    /// Binds an integer; returns its placeholder.
    pub fn int(&mut self, value: i64) -> String {
        self.params.push(Param::Int(value));
        format!("${}", self.params.len())
    }

    /// Adds a condition that must hold (built from placeholders this returned).
    pub fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// `column = $n`, or `column IN ($n, …)` for several values.
    pub fn any_of(&mut self, column: &str, values: &[String]) {
        match values {
            [] => self.push("1 = 0".into()),
            [one] => {
                let p = self.text(one.clone());
                self.push(format!("{column} = {p}"));
            }
            many => {
                let mut list = String::new();
                for (i, v) in many.iter().enumerate() {
                    let p = self.text(v.clone());
                    let _ = write!(list, "{}{p}", if i == 0 { "" } else { ", " });
                }
                self.push(format!("{column} IN ({list})"));
            }
        }
    }

    /// `WHERE a AND b`, or nothing.
    pub fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// Binds every value, in the order the placeholders were handed out.
    pub fn bind<'q>(&'q self, mut query: AnyQuery<'q>) -> AnyQuery<'q> {
        for p in &self.params {
            query = match p {
                Param::Text(v) => query.bind(v.as_str()),
                Param::Int(v) => query.bind(*v),
            };
        }
        query
    }
}
