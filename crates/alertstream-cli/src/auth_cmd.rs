//! `auth register|show|list|remove`: profiles kept by the library's store.

use crate::cli::{read_password_line, AuthCommand, RegisterArgs};
use crate::out::say;
use alertstream::profile::{preset, preset_names, Profile, Store};
use std::process::ExitCode;

pub fn auth(command: AuthCommand) -> anyhow::Result<ExitCode> {
    let store = Store::default_location()?;
    match command {
        AuthCommand::Register(args) => register(&store, args),
        AuthCommand::Show(n) => show(&store, &n.profile),
        AuthCommand::List => {
            for name in store.list()? {
                say!("{name}")?;
            }
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
        let p = preset(b).ok_or_else(|| {
            anyhow::anyhow!("unknown broker preset '{b}' (known: {})", preset_names())
        })?;
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
