use clap::Parser;
use podium::config::{Cli, Command};
use podium::startup::{self, Application};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    podium::store::keep_tls_library_at_exit();
    let cli = Cli::parse();
    podium::telemetry::init(cli.config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            Application::build(cli.config)
                .await?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => startup::migrate(cli.config).await?,
    }
    Ok(())
}
