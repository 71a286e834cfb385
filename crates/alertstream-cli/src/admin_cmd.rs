//! `topics`, `lag` and `reset`: tables for people, JSON Lines with --json.

use crate::cli::{LagArgs, ResetArgs, TopicsArgs};
use crate::out::say;
use alertstream::kafka::admin;
use anyhow::Context;
use std::process::ExitCode;

pub fn topics(args: TopicsArgs) -> anyhow::Result<ExitCode> {
    let topics = admin::topics(&args.broker.target()?.connection)?;
    if args.json {
        for t in &topics {
            say!("{}", serde_json::to_string(t)?)?;
        }
    } else {
        say!("{:<40} {:>10}", "TOPIC", "PARTITIONS")?;
        for t in &topics {
            say!("{:<40} {:>10}", t.topic, t.partitions)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn lag(args: LagArgs) -> anyhow::Result<ExitCode> {
    let rows = admin::lag(&args.broker.target()?.connection, &args.group, &args.topics)
        .with_context(|| format!("cannot read the lag of group {}", args.group))?;
    if args.json {
        for r in &rows {
            say!("{}", serde_json::to_string(r)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{:<32} {:>9} {:>12} {:>12} {:>10}",
        "TOPIC",
        "PARTITION",
        "COMMITTED",
        "HIGH",
        "LAG"
    )?;
    for r in &rows {
        let committed = r.committed.map_or("-".to_owned(), |c| c.to_string());
        say!(
            "{:<32} {:>9} {:>12} {:>12} {:>10}",
            r.topic,
            r.partition,
            committed,
            r.high_watermark,
            r.lag
        )?;
    }
    if rows.is_empty() {
        eprintln!(
            "alertstream: group {} has committed no offsets (name topics with --topic)",
            args.group
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn reset(args: ResetArgs) -> anyhow::Result<ExitCode> {
    let moved = admin::reset(
        &args.broker.target()?.connection,
        &args.group,
        &args.topics,
        args.to,
    )
    .with_context(|| format!("cannot reset group {}", args.group))?;
    for (topic, partition, offset) in &moved {
        say!("{topic}[{partition}] -> {offset}")?;
    }
    eprintln!(
        "alertstream: group {} moved on {} partition(s)",
        args.group,
        moved.len()
    );
    Ok(ExitCode::SUCCESS)
}
