//! The portal's words in English and French (seed 1), and the language a
//! browser asks for.

/// A language of the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Fr,
}

impl Lang {
    /// The language a stored word names (English for any other).
    pub(crate) fn parse(word: &str) -> Lang {
        if word == "fr" { Lang::Fr } else { Lang::En }
    }

    /// Its word, in the database and in `lang` attributes.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The one of English and French that `Accept-Language` prefers
    /// (English when it names neither).
    pub(crate) fn from_accept(header: Option<&str>) -> Lang {
        let mut best = (0.0f32, Lang::En);
        for part in header.unwrap_or("").split(',').take(20) {
            let mut fields = part.split(';');
            let tag = fields.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = fields.find_map(|f| f.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("fr") => Lang::Fr,
                Some("en") => Lang::En,
                _ => continue,
            };
            if q > best.0 {
                best = (q, lang);
            }
        }
        best.1
    }

    /// The word for `w`.
    pub(crate) fn t(self, w: Word) -> &'static str {
        let (en, fr) = match w {
            Word::Portal => ("Customer area", "Espace client"),
            Word::SignIn => ("Sign in", "Connexion"),
            Word::SignOut => ("Sign out", "Déconnexion"),
            Word::Login => ("Login", "Identifiant"),
            Word::Password => ("Password", "Mot de passe"),
            Word::BadCredentials => ("Unknown login or wrong password.", "Identifiant inconnu ou mot de passe erroné."),
            Word::Locked => (
                "This login is locked after too many failed attempts; ask an administrator to unlock it.",
                "Cet identifiant est bloqué après trop d'échecs ; demandez à un administrateur de le débloquer.",
            ),
            Word::Busy => (
                "Too many sign-ins at once; try again in a moment.",
                "Trop de connexions à la fois ; réessayez dans un instant.",
            ),
            Word::Home => ("Home", "Accueil"),
            Word::Balances => ("Balances", "Soldes"),
            Word::Tokens => ("Tokens", "Jetons"),
            Word::Deposit => ("Deposit", "Dépôt"),
            Word::Item => ("Item", "Article"),
            Word::NeedAction => ("Orders needing action", "Commandes en attente d'une action"),
            Word::Expiring => ("Certificates expiring within 30 days", "Certificats expirant sous 30 jours"),
            Word::Reference => ("Reference", "Référence"),
            Word::Name => ("Common name", "Nom commun"),
            Word::Status => ("Status", "Statut"),
            Word::Expires => ("Expires", "Expire le"),
            Word::Nothing => ("Nothing.", "Rien."),
            Word::Unavailable => {
                ("This could not be read; try again later.", "Lecture impossible ; réessayez plus tard.")
            }
            Word::Language => ("Language", "Langue"),
            Word::Change => ("Change", "Changer"),
            Word::SignedInAs => ("Signed in as", "Connecté en tant que"),
            Word::AcmeUrls => ("ACME URLs", "URL ACME"),
            Word::CreateAcmeUrl => ("Create an ACME URL", "Créer une URL ACME"),
            Word::AcmeUrlCreated => ("ACME URL created", "URL ACME créée"),
            Word::Label => ("Name", "Nom"),
            Word::Product => ("Product", "Produit"),
            Word::Organisation => ("Organisation", "Organisation"),
            Word::Create => ("Create", "Créer"),
            Word::Revoke => ("Revoke", "Révoquer"),
            Word::Revoked => ("revoked", "révoquée"),
            Word::Active => ("active", "active"),
            Word::ShownOnce => (
                "Copy the KID and the HMAC key now: they are shown this once and cannot be shown again.",
                "Copiez le KID et la clé HMAC maintenant : ils ne sont montrés qu'une fois.",
            ),
            Word::NoRight => (
                "Your user lacks the right this page needs.",
                "Votre utilisateur n'a pas le droit que demande cette page.",
            ),
        };
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}

/// Every word the pages say.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Word {
    Portal,
    SignIn,
    SignOut,
    Login,
    Password,
    BadCredentials,
    Locked,
    Busy,
    Home,
    Balances,
    Tokens,
    Deposit,
    Item,
    NeedAction,
    Expiring,
    Reference,
    Name,
    Status,
    Expires,
    Nothing,
    Unavailable,
    Language,
    Change,
    SignedInAs,
    AcmeUrls,
    CreateAcmeUrl,
    AcmeUrlCreated,
    Label,
    Product,
    Organisation,
    Create,
    Revoke,
    Revoked,
    Active,
    ShownOnce,
    NoRight,
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn accept_language_picks_the_preferred_of_english_and_french() {
        assert_eq!(Lang::from_accept(Some("fr-FR,fr;q=0.9,en;q=0.8")), Lang::Fr);
        assert_eq!(Lang::from_accept(Some("de-DE,en;q=0.5,fr;q=0.7")), Lang::Fr);
        assert_eq!(Lang::from_accept(Some("en-GB,fr;q=0.2")), Lang::En);
        assert_eq!(Lang::from_accept(Some("de")), Lang::En);
        assert_eq!(Lang::from_accept(None), Lang::En);
    }
}
