//! Validation, serialization and redaction of `TunnelConfig`.

use super::*;

fn code(r: Result<(), TunnelError>) -> &'static str {
    r.expect_err("expected a config error").code()
}

#[test]
fn ngrok_needs_an_authtoken_and_a_plain_domain() {
    let cfg = |tok: &str, domain: Option<&str>| TunnelConfig::Ngrok {
        authtoken: Secret::new(tok),
        domain: domain.map(str::to_owned),
    };
    let err = cfg("", None).validate().unwrap_err();
    assert_eq!(err.code(), "TunnelConfig");
    assert!(err.to_string().contains("authtoken is missing"), "{err}");
    assert_eq!(code(cfg("  ", None).validate()), "TunnelConfig");
    assert_eq!(code(cfg("abc def", None).validate()), "TunnelConfig");
    cfg("2abcDEF_123", None).validate().unwrap();
    cfg("2abcDEF_123", Some("office.ngrok.app"))
        .validate()
        .unwrap();
    let err = cfg("2abc", Some("https://office.ngrok.app"))
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("domain only"), "{err}");
    assert_eq!(
        code(cfg("2abc", Some("localhost")).validate()),
        "TunnelConfig"
    );
    assert_eq!(code(cfg("2abc", Some("a..b")).validate()), "TunnelConfig");
}

#[test]
fn own_url_needs_https_or_loopback_http_and_no_query() {
    assert_eq!(
        normalize_own_url("https://office.example.com/amosync/").unwrap(),
        "https://office.example.com/amosync"
    );
    assert_eq!(
        normalize_own_url("https://office.example.com").unwrap(),
        "https://office.example.com"
    );
    assert_eq!(
        normalize_own_url("http://127.0.0.1:8080/").unwrap(),
        "http://127.0.0.1:8080"
    );
    assert_eq!(
        normalize_own_url("http://localhost:8080").unwrap(),
        "http://localhost:8080"
    );
    assert_eq!(
        normalize_own_url("http://[::1]:9").unwrap(),
        "http://[::1]:9"
    );
    for bad in [
        "http://office.example.com",
        "ftp://office.example.com",
        "https://office.example.com/?a=b",
        "https://office.example.com/#x",
        "https://user:pw@office.example.com",
        "office.example.com",
        "",
    ] {
        let err = normalize_own_url(bad).unwrap_err();
        assert_eq!(err.code(), "TunnelConfig", "{bad}");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
}

#[test]
fn bore_server_is_host_and_optional_port() {
    assert_eq!(
        parse_bore_server("bore.example.com").unwrap(),
        ("bore.example.com".to_owned(), 7835)
    );
    assert_eq!(
        parse_bore_server("127.0.0.1:9000").unwrap(),
        ("127.0.0.1".to_owned(), 9000)
    );
    assert_eq!(
        parse_bore_server("[::1]:9000").unwrap(),
        ("::1".to_owned(), 9000)
    );
    assert_eq!(
        parse_bore_server("[::1]").unwrap(),
        ("::1".to_owned(), 7835)
    );
    for bad in [
        "",
        "http://bore.example.com",
        "bore.example.com:0",
        "bore.example.com:99999",
        "bore.example.com:x",
        "::1",
        "[::1",
        "bad host",
    ] {
        let err = parse_bore_server(bad).unwrap_err();
        assert_eq!(err.code(), "TunnelConfig", "{bad:?}");
        assert!(err.to_string().contains("host[:port]") || err.to_string().contains("missing"));
    }
    let empty_secret = TunnelConfig::Bore {
        server: "bore.example.com".into(),
        secret: Some(Secret::new("")),
        public_url: None,
    };
    assert_eq!(code(empty_secret.validate()), "TunnelConfig");
    let clear_public = TunnelConfig::Bore {
        server: "bore.example.com".into(),
        secret: None,
        public_url: Some("http://hooks.example.com".into()),
    };
    let err = clear_public.validate().unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
}

#[test]
fn bore_for_a_remote_account_needs_a_tls_address() {
    let clear = TunnelConfig::Bore {
        server: "bore.example.com".into(),
        secret: None,
        public_url: None,
    };
    let err = clear.check_for_account(false).unwrap_err();
    assert_eq!(err.code(), "TunnelConfig");
    let text = err.to_string();
    assert!(
        text.contains("clear text") && text.contains("--public-url https://"),
        "says why and what to do: {text}"
    );
    assert!(
        clear.check_for_account(true).is_ok(),
        "the emulator on this machine"
    );
    let behind_tls = TunnelConfig::Bore {
        server: "bore.example.com".into(),
        secret: None,
        public_url: Some("https://hooks.example.com".into()),
    };
    assert!(behind_tls.validate().is_ok());
    assert!(behind_tls.check_for_account(false).is_ok());
    for other in [ngrok_cfg(), TunnelConfig::None] {
        assert!(other.check_for_account(false).is_ok());
    }
}

#[test]
fn debug_never_shows_authtoken_or_secret() {
    let ngrok = TunnelConfig::Ngrok {
        authtoken: Secret::new("tok-SECRET-123"),
        domain: Some("office.ngrok.app".into()),
    };
    let bore = TunnelConfig::Bore {
        server: "bore.example.com".into(),
        secret: Some(Secret::new("bore-SECRET-456")),
        public_url: None,
    };
    for (cfg, secret) in [(&ngrok, "tok-SECRET-123"), (&bore, "bore-SECRET-456")] {
        let dbg = format!("{cfg:?} {cfg:#?}");
        assert!(!dbg.contains(secret), "{dbg}");
        assert!(dbg.contains("***"), "{dbg}");
    }
}

#[test]
fn serde_uses_a_provider_tag_and_round_trips() {
    let json = serde_json::json!({"provider": "bore", "server": "127.0.0.1:7835", "secret": "s3"});
    let cfg: TunnelConfig = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(
        cfg,
        TunnelConfig::Bore {
            server: "127.0.0.1:7835".into(),
            secret: Some(Secret::new("s3")),
            public_url: None,
        }
    );
    assert_eq!(serde_json::to_value(&cfg).unwrap(), json);
    let none: TunnelConfig = serde_json::from_str(r#"{"provider":"none"}"#).unwrap();
    assert_eq!(none, TunnelConfig::None);
    let cf: TunnelConfig = serde_json::from_str(r#"{"provider":"cloudflared"}"#).unwrap();
    assert_eq!(cf, TunnelConfig::Cloudflared { binary: None });
    let names: Vec<_> = [
        ngrok_cfg(),
        cf,
        TunnelConfig::OwnUrl {
            url: "https://x.example".into(),
        },
        cfg,
        none,
    ]
    .iter()
    .map(|c| {
        (
            c.provider_name(),
            serde_json::to_value(c).unwrap()["provider"].clone(),
        )
    })
    .collect();
    for (name, tag) in names {
        assert_eq!(tag, name);
    }
}

fn ngrok_cfg() -> TunnelConfig {
    TunnelConfig::Ngrok {
        authtoken: Secret::new("t"),
        domain: None,
    }
}
