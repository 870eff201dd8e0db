//! The messages' wording, kept in `notify/templates/<language>/`: one text
//! file per kind of event (a `Subject:` line, a blank line, the body) and
//! one HTML layout per language that the body is poured into, escaped.

use std::collections::BTreeMap;

/// The languages a contact may read (seed 7.2.2).
pub const LANGUAGES: [&str; 2] = ["en", "fr"];

/// Defines the template table from the event kinds, for every language.
macro_rules! templates {
    ($($kind:literal),* $(,)?) => {
        &[$(
            ("en", $kind, include_str!(concat!("../templates/en/", $kind, ".txt"))),
            ("fr", $kind, include_str!(concat!("../templates/fr/", $kind, ".txt"))),
        )*]
    };
}

/// (language, event kind, template).
const TEMPLATES: &[(&str, &str, &str)] = templates!(
    "order.delivered",
    "order.waiting_approval",
    "order.waiting_dcv",
    "order.failed",
    "order.refunded",
    "certificate.expiring",
    "renewal.placed",
    "order.waiting_funds",
    "balance.low",
    "renewal.failed",
    "order.cancelled",
    "renewal.waiting_csr",
    "monitor.result",
);

const LAYOUTS: [(&str, &str); 2] =
    [("en", include_str!("../templates/en/layout.html")), ("fr", include_str!("../templates/fr/layout.html"))];

/// A message rendered in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part; empty for a plain-text message.
    pub html: String,
}

/// Renders the message of event `kind` in `language` (English when the
/// language has no such template) with `values` for its `{{name}}`
/// placeholders; `None` for a kind without a template.
pub fn render(kind: &str, language: &str, values: &BTreeMap<String, String>) -> Option<Rendered> {
    let find = |lang: &str| TEMPLATES.iter().find(|t| t.0 == lang && t.1 == kind).map(|t| t.2);
    let template = find(language).or_else(|| find("en"))?;
    let language = if find(language).is_some() { language } else { "en" };
    let (subject, body) = template.split_once('\n').unwrap_or((template, ""));
    let subject = fill(subject.strip_prefix("Subject: ").unwrap_or(subject), values, |v| v.to_string());
    let text = fill(body.trim_start_matches('\n'), values, |v| v.to_string());
    let escaped = fill(body.trim(), values, escape);
    let paragraphs: Vec<String> =
        escaped.split("\n\n").map(|p| format!("<p>{}</p>", p.trim().replace('\n', "<br>\n"))).collect();
    let layout = LAYOUTS.iter().find(|l| l.0 == language).map_or(LAYOUTS[0].1, |l| l.1);
    let html = layout.replace("{{subject}}", &escape(&subject)).replace("{{body}}", &paragraphs.join("\n"));
    Some(Rendered { subject, text, html })
}

/// Replaces each `{{name}}` of `template` with `values[name]` passed
/// through `each` (empty when absent).
fn fill(template: &str, values: &BTreeMap<String, String>, each: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else { break };
        let name = &rest[start + 2..start + end];
        out.push_str(&values.get(name).map(|v| each(v)).unwrap_or_default());
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Escapes text for HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The event kinds that have templates.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().filter(|t| t.0 == "en").map(|t| t.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_renders_in_every_language_with_nothing_left_over() {
        let names = [
            "cn",
            "reference",
            "product",
            "serial",
            "not_after",
            "created_by",
            "dcv",
            "reason",
            "by",
            "days",
            "renews",
            "status",
            "price",
            "currency",
            "payment",
            "item",
            "asset",
            "balance",
            "level",
        ];
        let values: BTreeMap<String, String> = names.iter().map(|n| (n.to_string(), format!("<{n}>"))).collect();
        for kind in kinds() {
            for lang in LANGUAGES {
                let r = render(kind, lang, &values).unwrap();
                for part in [&r.subject, &r.text, &r.html] {
                    assert!(!part.contains("{{"), "{kind} {lang}: {part}");
                }
                assert!(r.html.contains("&lt;cn&gt;") || r.html.contains("&lt;item&gt;"), "{kind}: escaped");
                assert!(!r.html.contains("<cn>") && r.html.contains(&format!("lang=\"{lang}\"")));
            }
        }
        let fr = render("order.delivered", "fr", &values).unwrap();
        assert!(fr.subject.starts_with("Certificat délivré"), "{}", fr.subject);
        assert_eq!(
            render("order.delivered", "de", &values).unwrap().subject,
            render("order.delivered", "en", &values).unwrap().subject
        );
        assert!(render("no.such.kind", "en", &values).is_none());
    }
}
