//! The `certgate` binary: parses the command line, loads configuration,
//! and runs the server, the demo, or an operator command.

mod admin;
mod app;
mod cli;
mod config;
mod connections;
mod demo;
mod listeners;
mod metrics;
mod private_files;
mod prometheus;
mod request_id;
mod server;
mod tls;

use std::process::ExitCode;

use clap::Parser;

use crate::app::App;
use crate::cli::{Cli, Command};
use crate::config::Config;

fn main() -> ExitCode {
    private_files::restrict_new_files();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("CERTGATE_LOG").unwrap_or_else(|_| "info".into());
    if std::env::var("CERTGATE_LOG_FORMAT").as_deref() == Ok("json") {
        tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).init();
    } else {
        // Colours only on a terminal: a log file or a collector gets plain
        // text (and the escape codes cost formatting on every request).
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).init();
    }
    // The configuration is read first: it says how many threads the runtime has.
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("certgate: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(url) = cli.database_url {
        config.database_url = Some(url);
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = config.worker_threads {
        runtime.worker_threads(n.get());
    }
    let runtime = match runtime.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("certgate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("certgate: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Demo { listen, data_dir, tls } => demo::run(listen, data_dir, tls, config).await,
        Command::CheckConfig => {
            config.secret_key()?;
            if let Some(settings) = &config.tls {
                tls::load(settings)?;
            }
            println!(
                "configuration ok: database {}, upstreams {:?}",
                redact(&config.database_url()),
                config.upstreams.keys()
            );
            Ok(())
        }
        Command::Migrate => {
            App::open(config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            let listeners = listeners::Listeners::bind(&config).await?;
            let app = App::open(config).await?;
            server::run(&app, listeners).await?;
            Ok(())
        }
        cmd => {
            let app = App::open(config).await?;
            let public_url = app.config.public_url();
            admin::run(&app.orders, cmd, &public_url).await?;
            Ok(())
        }
    }
}

/// Hides the password of a database URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}
