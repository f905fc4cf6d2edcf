//! The router over a [`Starting`] store, as `anomalyzer serve` runs it
//! while the state directory is recovered: `/healthz` is 200 at once,
//! `/readyz` 503, push and write 503 with nothing applied, reads empty;
//! once the recovered store is installed, everything answers normally.

mod support;

use std::sync::Arc;

use anomalyzer_serve::{ServeConfig, ServeOptions, ServiceMetrics, Starting};
use axum::http::StatusCode;
use support::{get, line, post, send, MemoryStore};

#[tokio::test]
async fn nothing_is_accepted_before_the_store_is_installed() {
    let metrics = ServiceMetrics::default();
    let slot = Arc::new(Starting::<MemoryStore>::new());
    let router =
        anomalyzer_serve::router(Arc::clone(&slot), metrics.clone(), ServeOptions::default())
            .unwrap();
    let body = line("cpu", "{}", 1_700_000_000, 1.0);

    assert_eq!(send(&router, get("/healthz")).await.status, StatusCode::OK);
    let ready = send(&router, get("/readyz")).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body, "recovering\n");
    let push = send(&router, post("/api/v1/push", body.clone())).await;
    assert_eq!(push.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(push.json()["error"]
        .as_str()
        .unwrap()
        .contains("recovering"));
    let write = send(&router, post("/api/v1/write", Vec::<u8>::new())).await;
    assert_eq!(write.status, StatusCode::SERVICE_UNAVAILABLE);
    let listed = send(&router, get("/api/v1/series")).await;
    assert_eq!(listed.json()["series"].as_array().unwrap().len(), 0);
    let exported = send(&router, get("/metrics")).await;
    assert!(
        exported.body.contains("anomalyzer_series 0"),
        "{}",
        exported.body
    );

    let store = MemoryStore::new(ServeConfig::default(), 10, metrics.fsync_seconds());
    assert!(slot.install(store).is_ok());
    assert_eq!(send(&router, get("/readyz")).await.status, StatusCode::OK);
    let push = send(&router, post("/api/v1/push", body)).await;
    assert_eq!(push.status, StatusCode::OK, "{}", push.body);
    assert_eq!(
        slot.get().unwrap().points_of("cpu"),
        1,
        "applied once installed"
    );
    let listed = send(&router, get("/api/v1/series")).await;
    assert_eq!(listed.json()["series"][0]["points"], 1);
}
