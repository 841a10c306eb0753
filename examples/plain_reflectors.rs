//! The peer of the scale benchmarks: a plain kube-rs program the way most Rust controllers are
//! written, keeping full-object reflectors (typed k8s-openapi objects) of the six kinds
//! kube-verdict watches. It prints the time to its first complete list of every kind and its
//! resident memory once synced (and its peak), then exits. Used by `benches/real_scale.rs` and
//! `benches/serve_scale.rs`; not part of
//! kube-verdict.
//!
//!     KUBECONFIG=… cargo run --release --example plain_reflectors

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

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// User and system CPU time of this process so far (`/proc/self/stat`, clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name: utime is the 12th, stime the 13th.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
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
    println!("cpu_s={:.2}", cpu_seconds());
    println!("pods={}", pods.state().len());
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("rss_kib={}", status_kib("VmRSS:"));
    println!("hwm_kib={}", status_kib("VmHWM:"));
    Ok(())
}
