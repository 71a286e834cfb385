//! `auth register|show|list|remove`: profiles kept by the library's store.

use crate::cli::{read_password_line, AuthCommand, RegisterArgs};
use alertstream::kafka::profile::{preset, preset_names, Profile, Store};
use std::process::ExitCode;

pub fn auth(command: AuthCommand) -> anyhow::Result<ExitCode> {
    let store = Store::default_location()?;
    match command {
        AuthCommand::Register(args) => register(&store, args),
        AuthCommand::Show(n) => show(&store, &n.profile),
        AuthCommand::List => {
            for name in store.list()? {
                println!("{name}");
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
        if p.servers.is_none() && args.servers.is_none() {
            eprintln!(
                "alertstream: note: {b} has no public address here; pass --servers ({})",
                p.note
            );
        }
    }
    let password = if args.password_stdin {
        Some(read_password_line()?)
    } else {
        None
    };
    let profile = Profile {
        name: args.profile.clone(),
        broker: args.broker,
        servers: args.servers,
        username: args.username,
        group: args.group,
        topics: args.topics,
        security_protocol: args.security_protocol.map(|p| p.name().to_owned()),
        sasl_mechanism: args.sasl_mechanism.map(|m| m.name().to_owned()),
        ssl_ca_location: args.ssl_ca_location,
        topic_prefix: None,
        format: None,
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
    println!("profile            {}", profile.name);
    println!("broker preset      {}", or_dash(profile.broker.clone()));
    println!("servers            {}", or_dash(r.servers));
    println!(
        "username           {}",
        or_dash(r.security.username.clone())
    );
    println!(
        "password           {}",
        if r.security.password.is_some() {
            "*** (set)"
        } else {
            "(none)"
        }
    );
    println!("group              {}", or_dash(r.group));
    println!("topics             {}", r.topics.join(", "));
    println!("security protocol  {}", r.security.protocol.name());
    println!("SASL mechanism     {}", r.security.mechanism.name());
    println!(
        "format             {}",
        r.format.map_or("auto".to_owned(), |f| f.to_string())
    );
    Ok(ExitCode::SUCCESS)
}
