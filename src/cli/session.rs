//! What every user command starts with: a client, and who I am.

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::{Api, Client, api::PostParams};

use super::{
    error::{UserError, explain},
    kubeconfig::KubeFlags,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Me {
    pub username: String,
    pub groups: Vec<String>,
}

pub struct Session {
    pub client: Client,
    pub me: Me,
}

impl Session {
    pub async fn connect(flags: &KubeFlags) -> Result<Self, UserError> {
        let client = flags.client().await.map_err(|e| {
            UserError::new(format!("no cluster to talk to: {e}"))
                .hint("set KUBECONFIG or pass --kubeconfig/--context, as for kubectl")
        })?;
        let me = whoami(&client).await?;
        Ok(Self { client, me })
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource,
        K::DynamicType: Default,
    {
        Api::all(self.client.clone())
    }
}

/// Who the API server says I am (what `kubectl auth whoami` shows), the
/// identity admission checks the requestor and reviewer fields against.
pub async fn whoami(client: &Client) -> Result<Me, UserError> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let review = api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .map_err(|e| explain("asking the cluster who you are", e))?;
    let info = review.status.and_then(|s| s.user_info).unwrap_or_default();
    let username = info
        .username
        .filter(|u| !u.is_empty())
        .ok_or_else(|| UserError::new("the cluster did not say who you are (SelfSubjectReview without a username)"))?;
    Ok(Me { username, groups: info.groups.unwrap_or_default() })
}
