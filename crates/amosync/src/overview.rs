//! The account at a glance: pipelines with lead counts and money per status.

use std::collections::HashMap;

use amo::models::StatusKey;
use amo::{Client, LeadsQuery, MAX_LIMIT};
use futures::TryStreamExt;
use serde::Serialize;
use ts_rs::TS;

use crate::AppError;

/// One status of a pipeline with its live leads.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct StatusSummary {
    pub id: u64,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    pub sort: i64,
    /// Live (not deleted) leads in this status.
    pub leads: u64,
    /// Sum of their prices, in the account's currency.
    pub price_sum: i64,
}

/// A pipeline with its statuses in board order (142 won and 143 lost last).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct PipelineSummary {
    pub id: u64,
    pub name: String,
    pub is_main: bool,
    pub statuses: Vec<StatusSummary>,
}

/// Where an overview's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The built-in emulator's sample account.
    Demo,
    /// A connected amoCRM account.
    Account,
}

/// The account at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Overview {
    pub source: Source,
    pub account_name: String,
    pub subdomain: String,
    pub currency: String,
    pub pipelines: Vec<PipelineSummary>,
}

/// Reads the account, its pipelines and every live lead (paged, under the
/// client's shared rate limit) and totals leads and money per status.
pub async fn load_overview(client: &Client, source: Source) -> Result<Overview, AppError> {
    let account = client.account().await?;
    let pipelines = client.pipelines().await?;

    let mut totals: HashMap<StatusKey, (u64, i64)> = HashMap::new();
    let mut pages = client.leads(&LeadsQuery::new().limit(MAX_LIMIT));
    while let Some(page) = pages.try_next().await? {
        for lead in page {
            let entry = totals
                .entry(StatusKey {
                    pipeline_id: lead.pipeline_id,
                    status_id: lead.status_id,
                })
                .or_default();
            entry.0 += 1;
            entry.1 += lead.price;
        }
    }

    let mut pipelines: Vec<PipelineSummary> = pipelines
        .into_iter()
        .map(|p| {
            let mut statuses: Vec<StatusSummary> = p
                .statuses()
                .iter()
                .map(|s| {
                    let (leads, price_sum) = totals.get(&s.key()).copied().unwrap_or_default();
                    StatusSummary {
                        id: s.id,
                        name: s.name.clone(),
                        color: s.color.clone().unwrap_or_else(|| "#c1c1c1".into()),
                        sort: s.sort,
                        leads,
                        price_sum,
                    }
                })
                .collect();
            statuses.sort_by_key(|s| s.sort);
            PipelineSummary {
                id: p.id,
                name: p.name,
                is_main: p.is_main,
                statuses,
            }
        })
        .collect();
    pipelines.sort_by_key(|p| (!p.is_main, p.id));

    Ok(Overview {
        source,
        account_name: account.name,
        subdomain: account.subdomain,
        currency: account.currency.unwrap_or_else(|| "RUB".into()),
        pipelines,
    })
}
