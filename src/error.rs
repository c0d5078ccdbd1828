//! Errors are `anyhow` everywhere; a [`UserError`] in the chain marks the failure as the
//! user's (bad spec, missing or corrupt data), which the binary maps to exit code 1.

use std::fmt;

/// A failure caused by the user's input rather than by a bug in runner.
#[derive(Debug)]
pub struct UserError(pub String);

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

/// Builds an `anyhow::Error` marked as the user's fault.
#[macro_export]
macro_rules! user_error {
    ($($arg:tt)*) => { anyhow::Error::new($crate::error::UserError(format!($($arg)*))) };
}

/// Returns early with a [`UserError`].
#[macro_export]
macro_rules! bail_user {
    ($($arg:tt)*) => { return Err($crate::user_error!($($arg)*)) };
}

/// True when any error in the chain is a [`UserError`].
pub fn is_user_error(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<UserError>())
}

/// Ends the program with a specific exit status and message (not an error in runner): a sweep
/// cell or run dir held by another process (75), claims that failed their check (3).
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}
