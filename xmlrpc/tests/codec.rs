//! The XML-RPC codec on what real clients send: every type both ways,
//! sloppy input accepted, hostile input refused, and Python's
//! `xmlrpc.client` (a real, independent implementation) reading our answers
//! and writing calls we read.

use certgate_xmlrpc::{DecodeError, Limits, Value, call, fault, parse_call, parse_datetime, response};

fn parse(body: &str) -> Result<certgate_xmlrpc::MethodCall, DecodeError> {
    parse_call(body.as_bytes(), &Limits::default())
}

fn every_type() -> Value {
    Value::Struct(vec![
        ("int".into(), Value::Int(-42)),
        ("big".into(), Value::Int(1 << 40)),
        ("yes".into(), Value::Bool(true)),
        ("text".into(), Value::String("a < b & c > d, été".into())),
        ("empty".into(), Value::String(String::new())),
        ("pi".into(), Value::Double(3.25)),
        ("when".into(), Value::DateTime(parse_datetime("2026-11-25T12:34:56Z").unwrap())),
        ("blob".into(), Value::Base64((0u8..=255).collect())),
        ("list".into(), Value::Array(vec![Value::Int(1), Value::String("two".into()), Value::Array(vec![])])),
        ("nothing".into(), Value::Nil),
        ("inner".into(), Value::Struct(vec![])),
    ])
}

#[test]
fn every_type_round_trips() {
    let v = every_type();
    let call = parse(&call("m", std::slice::from_ref(&v))).unwrap();
    assert_eq!(call.method, "m");
    assert_eq!(call.params, vec![v]);
    let body = response(&Value::Int(1 << 40));
    assert!(body.contains("<i8>1099511627776</i8>"), "{body}");
    assert!(response(&Value::Int(7)).contains("<int>7</int>"));
    assert!(response(&Value::String(String::new())).contains("<string></string>"), "empty values expanded");
}

#[test]
fn a_sloppy_legacy_achat_is_read() {
    let body = "<?xml version=\"1.0\"?>\r\n<methodCall>\r\n<methodName> achat </methodName>\r\n<params><param><value><struct>\r\n\
        <member><name>identification</name><value><struct>\"\r\n\
          <member><name>utilisateur</name><value>api</value></member>\r\n\
          <member><name>motDePasse</name><value><string>s3cret</string></value></member>\r\n\
        </struct></value></member>\r\n</struct></value></param>\r\n\
        <param><value><struct><member><name>ref1</name><value><struct>\r\n\
          <member><name>produit</name><value><struct><member><name>code</name><value>ssl</value></member>\
<member><name>dureeVie</name><value><i4>1</i4></value></member></struct></value></member>\r\n\
          <member><name>requete</name><value><struct><member><name>CSR</name><value>-----BEGIN NEW CERTIFICATE REQUEST-----\r\nMIIB\r\n-----END NEW CERTIFICATE REQUEST-----</value></member>\
<member><name>domaines</name><value/></member></struct></value></member>\r\n\
        </struct></value></member></struct></value></param></params></methodCall>";
    let c = parse(body).unwrap();
    assert_eq!(c.method, "achat");
    let ident = c.params[0].get("identification").unwrap();
    assert_eq!(ident.get("utilisateur").and_then(Value::as_str), Some("api"), "untyped value is a string");
    let req = c.params[1].get("ref1").unwrap();
    assert_eq!(req.get("produit").unwrap().get("dureeVie"), Some(&Value::Int(1)));
    let csr = req.get("requete").unwrap().get("CSR").and_then(Value::as_str).unwrap();
    assert!(csr.starts_with("-----BEGIN NEW CERTIFICATE REQUEST-----\nMIIB"), "CRLF normalised: {csr:?}");
    assert_eq!(req.get("requete").unwrap().get("domaines").and_then(Value::as_str), Some(""));
}

#[test]
fn other_spellings_are_read() {
    let body = "<methodCall><methodName>x</methodName><params>\
        <param><value><ex:i8>9007199254740993</ex:i8></value></param>\
        <param><value><ex:nil/></value></param>\
        <param><value><nil></nil></value></param>\
        <param><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></param>\
        <param><value><base64>AAEC\n  AwQF\n</base64></value></param>\
        <param><value><boolean>0</boolean></value></param>\
        <param><value>&lt;&#233;&#x41;&amp;</value></param>\
        <param><value><string><![CDATA[<raw>]]></string></value></param>\
        </params></methodCall>";
    let c = parse(body).unwrap();
    assert_eq!(c.params[0], Value::Int(9_007_199_254_740_993));
    assert_eq!((&c.params[1], &c.params[2]), (&Value::Nil, &Value::Nil));
    assert_eq!(c.params[3], Value::DateTime(parse_datetime("1998-07-17T14:08:55Z").unwrap()));
    assert_eq!(c.params[4], Value::Base64(vec![0, 1, 2, 3, 4, 5]), "line-wrapped base64");
    assert_eq!(c.params[5], Value::Bool(false));
    assert_eq!(c.params[6], Value::String("<éA&".into()));
    assert_eq!(c.params[7], Value::String("<raw>".into()));
}

#[test]
fn the_declared_charset_is_honoured() {
    let mut body = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>m</methodName><params><param><value>Soci".to_vec();
    body.push(0xe9); // é in ISO-8859-1
    body.extend_from_slice(b"t\xe9</value></param></params></methodCall>");
    let c = parse_call(&body, &Limits::default()).unwrap();
    assert_eq!(c.params[0], Value::String("Société".into()));
    let err = parse_call(b"<?xml version=\"1.0\" encoding=\"EBCDIC\"?><methodCall/>", &Limits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::NotWellFormed(_)), "{err:?}");
    let err = parse_call(b"<methodCall><methodName>m\xe9</methodName></methodCall>", &Limits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::NotWellFormed(_)), "invalid UTF-8 without a declaration: {err:?}");
}

#[test]
fn hostile_or_broken_input_is_refused_with_the_right_code() {
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
        <methodCall><methodName>&x;</methodName></methodCall>";
    assert_eq!(parse(xxe).unwrap_err().fault_code(), -32700);
    let entity = "<methodCall><methodName>&x;</methodName></methodCall>";
    assert_eq!(parse(entity).unwrap_err().fault_code(), -32700);
    let deep = format!(
        "<methodCall><methodName>m</methodName><params><param>{}{}</param></params></methodCall>",
        "<value><array><data>".repeat(100),
        "</data></array></value>".repeat(100)
    );
    assert_eq!(parse(&deep).unwrap_err().fault_code(), -32700);
    let limits = Limits { max_bytes: 10, ..Limits::default() };
    assert_eq!(parse_call(b"<methodCall></methodCall>", &limits).unwrap_err().fault_code(), -32700);
    for (what, body) in [
        ("unclosed", "<methodCall><methodName>m</methodName>"),
        ("mismatched", "<methodCall><methodName>m</methodCall></methodName>"),
    ] {
        assert_eq!(parse(body).unwrap_err().fault_code(), -32700, "{what}");
    }
    for (what, body) in [
        ("not a call", "<html><body/></html>"),
        ("no name", "<methodCall><params/></methodCall>"),
        (
            "unknown type",
            "<methodCall><methodName>m</methodName><params><param><value><blob>x</blob></value></param></params></methodCall>",
        ),
        (
            "bad int",
            "<methodCall><methodName>m</methodName><params><param><value><int>one</int></value></param></params></methodCall>",
        ),
        (
            "bad date",
            "<methodCall><methodName>m</methodName><params><param><value><dateTime.iso8601>soon</dateTime.iso8601></value></param></params></methodCall>",
        ),
        (
            "duplicate member",
            "<methodCall><methodName>m</methodName><params><param><value><struct>\
             <member><name>a</name><value>1</value></member><member><name>a</name><value>2</value></member>\
             </struct></value></param></params></methodCall>",
        ),
    ] {
        assert_eq!(parse(body).unwrap_err().fault_code(), -32600, "{what}");
    }
}

fn python(script: &str, input: &str) -> Option<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    assert!(out.status.success(), "python failed");
    String::from_utf8(out.stdout).ok()
}

#[test]
fn pythons_xmlrpc_client_agrees_with_us() {
    if !certgate_tests_have_python() {
        return;
    }
    // Python reads our response and fault.
    let read = "import sys, xmlrpc.client\n\
        try:\n    (v,), _ = xmlrpc.client.loads(sys.stdin.read(), use_builtin_types=True)\n    print(repr(sorted(v.keys())), v['int'], v['big'], v['text'], len(v['blob']), v['nothing'], v['when'].isoformat())\n\
        except xmlrpc.client.Fault as f:\n    print('FAULT', f.faultCode, f.faultString)";
    let out = python(read, &response(&every_type())).unwrap();
    assert!(out.contains("-42 1099511627776 a < b & c > d, été 256 None 2026-11-25T12:34:56"), "{out}");
    let out = python(read, &fault(-32601, "unknown method x")).unwrap();
    assert_eq!(out.trim(), "FAULT -32601 unknown method x");
    // We read Python's call.
    let write = "import xmlrpc.client, datetime\n\
        print(xmlrpc.client.dumps(({'identification': {'utilisateur': 'api', 'motDePasse': 'p'}, 'n': 2**31 - 1, 'd': datetime.datetime(2026, 1, 2, 3, 4, 5), 'b': xmlrpc.client.Binary(b'\\x00\\x01'), 'x': None, 'f': 1.5, 't': True},), 'solde', allow_none=True))";
    let body = python(write, "").unwrap();
    let c = parse(&body).unwrap();
    assert_eq!(c.method, "solde");
    let p = &c.params[0];
    assert_eq!(p.get("identification").unwrap().get("utilisateur").and_then(Value::as_str), Some("api"));
    assert_eq!(p.get("n"), Some(&Value::Int(i64::from(i32::MAX))));
    assert_eq!(p.get("d"), Some(&Value::DateTime(parse_datetime("2026-01-02T03:04:05").unwrap())));
    assert_eq!(p.get("b"), Some(&Value::Base64(vec![0, 1])));
    assert_eq!(
        (p.get("x"), p.get("f"), p.get("t")),
        (Some(&Value::Nil), Some(&Value::Double(1.5)), Some(&Value::Bool(true)))
    );
}

fn certgate_tests_have_python() -> bool {
    let ok = std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        certgate_tests::skipping("python3 is not installed");
    }
    ok
}
