//! The peer of the scale benchmarks: a plain kube-rs program the way most Rust controllers are
//! written, keeping full-object reflectors (typed k8s-openapi objects) of the six kinds
//! kube-verdict watches. It prints the time to its first complete list of every kind and its
//! resident memory once synced (and its peak), then exits. Used by `benches/real_scale.rs` and
//! `benches/serve_scale.rs`; not part of
//! kube-verdict.
//!
//!     KUBECONFIG=… cargo run --release --example plain_reflectors

#[path = "../tests/support/procfs.rs"]
mod procfs;

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};

fn reflect<K>(client: &Client) -> Store<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher(
            Api::<K>::all(client.clone()),
            watcher::Config::default().page_size(500),
        ),
    )
    .default_backoff()
    .applied_objects();
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while stream.next().await.is_some() {}
    });
    reader
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let client = Client::try_default().await?;
    let nodes = reflect::<Node>(&client);
    let pods = reflect::<Pod>(&client);
    let deployments = reflect::<Deployment>(&client);
    let replicasets = reflect::<ReplicaSet>(&client);
    let events = reflect::<Event>(&client);
    let jobs = reflect::<Job>(&client);
    nodes.wait_until_ready().await?;
    pods.wait_until_ready().await?;
    deployments.wait_until_ready().await?;
    replicasets.wait_until_ready().await?;
    events.wait_until_ready().await?;
    jobs.wait_until_ready().await?;
    println!("synced_s={:.2}", started.elapsed().as_secs_f64());
    println!("cpu_s={:.2}", procfs::cpu_seconds("self"));
    println!("pods={}", pods.state().len());
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("rss_kib={}", procfs::status_kib("self", "VmRSS:"));
    println!("hwm_kib={}", procfs::status_kib("self", "VmHWM:"));
    Ok(())
}
