//! `alertstream`: a thin command-line layer over the alertstream library.

mod admin_cmd;
mod auth_cmd;
mod cli;
mod consume_cmd;
mod decode_cmd;
mod publish_cmd;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::parse();
    alertstream::set_verbose(args.verbose);
    let result = match args.command {
        cli::Command::Decode(a) => decode_cmd::decode(a),
        cli::Command::Inspect(a) => decode_cmd::inspect(a),
        cli::Command::Consume(a) => consume_cmd::consume(a),
        cli::Command::Publish(a) => publish_cmd::publish(a),
        cli::Command::Demo(a) => publish_cmd::demo(a),
        cli::Command::Auth(a) => auth_cmd::auth(a),
        cli::Command::Topics(a) => admin_cmd::topics(a),
        cli::Command::Lag(a) => admin_cmd::lag(a),
        cli::Command::Reset(a) => admin_cmd::reset(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("alertstream: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
