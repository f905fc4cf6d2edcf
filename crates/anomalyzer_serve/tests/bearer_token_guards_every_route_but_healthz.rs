//! `--auth-token-file`: every route but `/healthz` needs
//! `Authorization: Bearer <token>`.

mod support;

use anomalyzer_serve::{AuthToken, ServeConfig, ServeOptions};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use support::{app, line, send};

fn request(method: Method, uri: &str, authorization: Option<&str>, body: String) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(a) = authorization {
        r = r.header("authorization", a);
    }
    r.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn routes_need_the_token_and_healthz_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "0123456789abcdef\n").unwrap();
    let options = ServeOptions {
        auth: Some(AuthToken::from_file(&token_file).unwrap()),
        ..ServeOptions::default()
    };
    let (router, store, _) = app(ServeConfig::default(), 10, options);
    let push = || line("cpu", "{}", 1, 1.0);
    let routes = [
        (Method::POST, "/api/v1/push"),
        (Method::POST, "/api/v1/write"),
        (Method::GET, "/metrics"),
        (Method::GET, "/api/v1/series?match=*"),
        (Method::GET, "/api/v1/series/cpu/explain"),
        (Method::GET, "/readyz"),
    ];
    for (method, uri) in &routes {
        for bad in [
            None,
            Some("Bearer wrong"),
            Some("Basic MDEyMzQ1Njc4OWFiY2RlZg=="),
            Some("Bearer 0123456789abcde"),
        ] {
            let answer = send(&router, request(method.clone(), uri, bad, push())).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} with {bad:?}"
            );
            assert!(answer.body.contains("bearer token"), "{}", answer.body);
        }
    }
    assert_eq!(
        store.series_count(),
        0,
        "an unauthorised push applied nothing"
    );

    let ok = Some("Bearer 0123456789abcdef");
    let answer = send(&router, request(Method::POST, "/api/v1/push", ok, push())).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let answer = send(&router, request(Method::GET, "/metrics", ok, String::new())).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = send(&router, request(Method::GET, "/readyz", ok, String::new())).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = send(
        &router,
        request(Method::GET, "/api/v1/series/cpu/explain", ok, String::new()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);

    let health = send(
        &router,
        request(Method::GET, "/healthz", None, String::new()),
    )
    .await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body, "ok\n");
}

#[tokio::test]
async fn without_a_token_file_nothing_is_asked() {
    let (router, _, _) = app(ServeConfig::default(), 10, ServeOptions::default());
    let answer = send(
        &router,
        request(Method::GET, "/metrics", None, String::new()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let unknown = send(&router, request(Method::GET, "/nope", None, String::new())).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
