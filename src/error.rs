//! Errors are `anyhow` everywhere; a [`UserError`] in the chain marks the failure as the
//! user's (bad spec, missing or corrupt data), and so does an I/O error (the environment's: a
//! results dir that is a file or read-only, a full disk, a file that vanished). The binary maps
//! both to exit code 1 and prints the whole chain on one line; anything else is a bug in runner
//! (exit 2).

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

/// True when any error in the chain is a [`UserError`] or an I/O error: the user's input or
/// their environment, not runner, is at fault. Whoever adds the context of an I/O error names
/// the path (`with_context(|| format!("writing {}", path.display()))`), so the one-line message
/// holds both the path and the cause.
pub fn is_user_error(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.is::<UserError>() || e.is::<std::io::Error>())
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
