use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Like other Unix tools, stop quietly when the reader of stdout goes away
    // (`runner data list | head -1`) instead of panicking on the broken pipe.
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Usage errors are the user's (exit 1); help and version go to stdout (exit 0).
    let cli = match runner::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match runner::commands::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(exit) = err.downcast_ref::<runner::error::Exit>() {
                eprintln!("{}", exit.message);
                return ExitCode::from(exit.code);
            }
            let user = runner::error::is_user_error(&err);
            if user {
                eprintln!("error: {err}");
            } else {
                eprintln!("internal error: {err:?}");
            }
            ExitCode::from(if user { 1 } else { 2 })
        }
    }
}
