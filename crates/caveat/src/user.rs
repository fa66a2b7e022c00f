//! `caveat user add/revoke/list`: people and systems acting for a partner.

use anyhow::Context;
use caveat_core::{PartnerId, Role, User, UserId};
use time::OffsetDateTime;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Add a user (or change its roles) and print a new API token for it.
    Add {
        /// The user's id, e.g. ana@can.
        user: UserId,
        /// The partner it acts for (fixed for life).
        #[arg(long)]
        partner: PartnerId,
        /// Roles, comma-separated: analyst, watch-officer, boarding-officer, auditor, partner-admin.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<Role>,
    },
    /// Revoke every token of a user at once.
    Revoke {
        /// The user's id.
        user: UserId,
    },
    /// List users.
    List {
        /// Only this partner's users.
        #[arg(long)]
        partner: Option<PartnerId>,
    },
}

pub(crate) async fn run(db: &crate::db::Db, command: Command) -> anyhow::Result<()> {
    let store = crate::open_store(db).await?;
    match command {
        Command::Add { user, partner, roles } => {
            let u = User { id: user, partner, roles: roles.into_iter().collect() };
            store.put_user(&u).await.with_context(|| format!("adding {}", u.id))?;
            let (token, hash) = caveat_server::new_token();
            store.add_token(&u.id, hash, OffsetDateTime::now_utc()).await?;
            eprintln!("user {} acts for {}; its token (shown once, keep it secret):", u.id, u.partner);
            println!("{token}");
        }
        Command::Revoke { user } => {
            let n = store.revoke_tokens(&user, OffsetDateTime::now_utc()).await?;
            println!("revoked {n} token(s) of {user}");
        }
        Command::List { partner } => {
            for u in store.users(partner.as_ref()).await? {
                let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
                println!("{:24} {:10} {}", u.id.as_str(), u.partner.as_str(), roles.join(","));
            }
        }
    }
    Ok(())
}
