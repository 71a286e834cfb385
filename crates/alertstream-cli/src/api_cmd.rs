//! `thumbnails`: an ANTARES alert's cutout images, from its API (the
//! stream carries none).

use crate::cli::ThumbnailsArgs;
use crate::out::say;
use alertstream::api::antares::{api_base, save_thumbnail, thumbnails};
use std::process::ExitCode;

pub fn thumbnails_cmd(args: ThumbnailsArgs) -> anyhow::Result<ExitCode> {
    let api = args.api.clone().unwrap_or_else(api_base);
    let api = format!("{}/", api.trim_end_matches('/'));
    let mut failed = 0;
    for alert_id in &args.alert_ids {
        let fetched = match thumbnails(&api, alert_id) {
            Ok(fetched) => fetched,
            Err(e) => {
                eprintln!("alertstream: {alert_id}: {e}");
                failed += 1;
                continue;
            }
        };
        if fetched.is_empty() {
            eprintln!("alertstream: {alert_id}: ANTARES has no thumbnails for this alert");
        }
        for thumbnail in &fetched {
            let path = save_thumbnail(thumbnail, &args.out)?;
            if args.json {
                let line = serde_json::json!({
                    "alert_id": thumbnail.alert_id,
                    "type": thumbnail.kind,
                    "file_name": thumbnail.file_name,
                    "path": path,
                    "mime": thumbnail.mime,
                    "bytes": thumbnail.bytes.len(),
                });
                say!("{line}")?;
            } else {
                say!("{}", path.display())?;
            }
        }
    }
    Ok(match failed {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}
