//! `hookgate`: turns inbound webhooks into Kafka events.
#![forbid(unsafe_code)]

mod run;

use clap::Parser;
use hookgate::config;

fn main() -> std::process::ExitCode {
    let cli = match config::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version.
            let _ = err.print();
            return std::process::ExitCode::SUCCESS;
        }
        Err(err) => {
            // One line naming the setting; clap's hints follow on later lines.
            let rendered = err.render().to_string();
            eprintln!(
                "{}",
                rendered
                    .lines()
                    .next()
                    .unwrap_or("error: invalid configuration")
            );
            return std::process::ExitCode::from(2);
        }
    };
    match run::main(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
