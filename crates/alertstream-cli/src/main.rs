//! `alertstream`: a thin command-line layer over the alertstream library.

mod cli;
mod decode_cmd;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::parse();
    let result = match args.command {
        cli::Command::Decode(a) => decode_cmd::decode(a),
        cli::Command::Inspect(a) => decode_cmd::inspect(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("alertstream: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
