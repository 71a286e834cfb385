//! `auth register|show|list|remove`: profiles kept by the library's store;
//! `brokers`: the presets they build on.

use crate::cli::{read_password_line, AuthCommand, BrokersArgs, RegisterArgs};
use crate::out::say;
use alertstream::profile::{known_preset, NotifySecret, Preset, Profile, Store, PRESETS};
use std::process::ExitCode;

pub fn auth(command: AuthCommand) -> anyhow::Result<ExitCode> {
    let store = Store::default_location()?;
    match command {
        AuthCommand::Register(args) => register(&store, *args),
        AuthCommand::Show(n) => show(&store, &n.profile),
        AuthCommand::List => {
            for name in store.list()? {
                say!("{name}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AuthCommand::Notify(args) => {
            let which = match args.telegram_token_stdin {
                true => NotifySecret::TelegramToken,
                false => NotifySecret::SlackWebhook,
            };
            store.save_notify_secret(&args.profile, which, &read_password_line()?)?;
            eprintln!(
                "alertstream: saved a notification secret for profile {}",
                args.profile
            );
            Ok(ExitCode::SUCCESS)
        }
        AuthCommand::Remove(n) => {
            if !store.remove(&n.profile)? {
                anyhow::bail!("no profile '{}' (see `alertstream auth list`)", n.profile);
            }
            eprintln!("alertstream: removed profile {}", n.profile);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn register(store: &Store, args: RegisterArgs) -> anyhow::Result<ExitCode> {
    if let Some(b) = &args.broker {
        let p = known_preset(b)?;
        if p.servers.is_none() && args.connection.servers.is_none() {
            eprintln!(
                "alertstream: note: {b} has no public address here; pass --servers ({})",
                p.note
            );
        }
    }
    let password = if args.connection.password_stdin {
        Some(read_password_line()?)
    } else {
        None
    };
    let profile = Profile {
        name: args.profile.clone(),
        broker: args.broker,
        servers: args.connection.servers,
        username: args.connection.username,
        group: args.group,
        topics: args.topics,
        security_protocol: args
            .connection
            .security_protocol
            .map(|p| p.name().to_owned()),
        sasl_mechanism: args.connection.sasl_mechanism.map(|m| m.name().to_owned()),
        ssl_ca_location: args.connection.ssl_ca_location,
        topic_prefix: None,
        format: args.format.map(|f| f.name().to_owned()),
        schema_registry: args.schema_registry,
    };
    profile.resolve(password.clone())?; // refuse what cannot work, before saving
    store.save(&profile, password.as_ref())?;
    eprintln!(
        "alertstream: saved profile {} in {}",
        profile.name,
        store.dir().display()
    );
    Ok(ExitCode::SUCCESS)
}

fn show(store: &Store, name: &str) -> anyhow::Result<ExitCode> {
    let (profile, password) = store
        .load(name)?
        .ok_or_else(|| anyhow::anyhow!("no profile '{name}' (see `alertstream auth list`)"))?;
    let r = profile.resolve(password)?;
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    say!("profile            {}", profile.name)?;
    say!("broker preset      {}", or_dash(profile.broker.clone()))?;
    say!("servers            {}", or_dash(r.servers))?;
    say!(
        "username           {}",
        or_dash(r.security.username.clone())
    )?;
    say!(
        "password           {}",
        if r.security.password.is_some() {
            "*** (set)"
        } else {
            "(none)"
        }
    )?;
    say!("group              {}", or_dash(r.group))?;
    say!("topics             {}", r.topics.join(", "))?;
    say!("security protocol  {}", r.security.protocol.name())?;
    say!("SASL mechanism     {}", r.security.mechanism.name())?;
    say!(
        "format             {}",
        r.format.map_or("auto".to_owned(), |f| f.to_string())
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn brokers(args: BrokersArgs) -> anyhow::Result<ExitCode> {
    for p in &PRESETS {
        if args.json {
            say!("{}", preset_json(p))?;
        } else {
            say!("{}", p.name)?;
            say!("  servers   {}", servers_text(p))?;
            say!("  security  {} {}", p.protocol.name(), p.mechanism.name())?;
            say!("  format    {}", p.format.map_or("detected", |f| f.name()))?;
            if !p.topics.is_empty() {
                say!("  topics    {}", p.topics.join(", "))?;
            }
            if !p.topic_prefix.is_empty() {
                say!("  served as {}<topic>", p.topic_prefix)?;
            }
            say!("  note      {}", p.note)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn servers_text(p: &Preset) -> String {
    match (p.servers, p.backup_servers) {
        (Some(s), Some(b)) => format!("{s} (backup {b})"),
        (Some(s), None) => s.to_owned(),
        (None, _) => "given by the broker's team (--servers)".to_owned(),
    }
}

fn preset_json(p: &Preset) -> serde_json::Value {
    serde_json::json!({
        "name": p.name,
        "servers": p.servers,
        "backup_servers": p.backup_servers,
        "security_protocol": p.protocol.name(),
        "sasl_mechanism": p.mechanism.name(),
        "topic_prefix": p.topic_prefix,
        "format": p.format.map(|f| f.name()),
        "schema_registry": p.schema_registry,
        "topics": p.topics,
        "note": p.note,
    })
}
