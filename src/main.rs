use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Like other Unix tools, stop quietly when the reader of stdout goes away
    // (`runner data list | head -1`) instead of panicking on the broken pipe.
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Speed only: a platform without these settings runs the same, slower.
    let _ = runner::util::alloc::keep_freed_memory();
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
            // The whole chain on the first line ("creating X: Not a directory"): the cause and
            // the path together, never Rust debug text.
            if runner::error::is_user_error(&err) {
                eprintln!("error: {err:#}");
                return ExitCode::from(1);
            }
            eprintln!("internal error (a bug in runner, please report it): {err:#}");
            let backtrace = err.backtrace();
            if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
                eprintln!("\n{backtrace}");
            }
            ExitCode::from(2)
        }
    }
}
