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
            Word::Orders => ("Orders", "Commandes"),
            Word::UnknownStatus => ("Unknown status", "Statut inconnu"),
            Word::BadDate => ("Not a date (YYYY-MM-DD)", "Date invalide (AAAA-MM-JJ)"),
            Word::Pages => ("Pages", "Pages"),
            Word::Previous => ("Previous", "Précédente"),
            Word::Page => ("Page", "Page"),
            Word::Next => ("Next", "Suivante"),
            Word::ExportCsv => ("Export as CSV", "Exporter en CSV"),
            Word::NarrowSearch => (
                "Too many orders to page through: narrow the search, or export it as CSV.",
                "Trop de commandes à parcourir : affinez la recherche ou exportez-la en CSV.",
            ),
            Word::OwnReference => ("Your reference", "Votre référence"),
            Word::Serial => ("Serial number", "Numéro de série"),
            Word::Any => ("Any", "Tous"),
            Word::PlacedFrom => ("Placed from", "Passée du"),
            Word::PlacedTo => ("Placed until", "Passée jusqu'au"),
            Word::ExpiresFrom => ("Expires from", "Expire du"),
            Word::ExpiresTo => ("Expires until", "Expire jusqu'au"),
            Word::Search => ("Search", "Rechercher"),
            Word::Placed => ("Placed", "Passée le"),
            Word::Price => ("Price", "Prix"),
            Word::Order => ("Order", "Commande"),
            Word::Summary => ("Summary", "Résumé"),
            Word::OtherNames => ("Other names", "Autres noms"),
            Word::Updated => ("Last change", "Dernier changement"),
            Word::AutoRenewal => ("Automatic renewal", "Renouvellement automatique"),
            Word::On => ("on", "activé"),
            Word::Off => ("off", "désactivé"),
            Word::Failure => ("Failure", "Échec"),
            Word::DomainValidation => ("Domain control validation", "Validation du contrôle du domaine"),
            Word::DcvHowTo => (
                "Publish this value in the DNS TXT record of each name below, or (not for a wildcard) in the file at its HTTP address; then ask for a check.",
                "Publiez cette valeur dans l'enregistrement DNS TXT de chaque nom ci-dessous, ou (sauf pour un wildcard) dans le fichier à son adresse HTTP ; puis demandez une vérification.",
            ),
            Word::Value => ("Value", "Valeur"),
            Word::Certificates => ("Certificates", "Certificats"),
            Word::ValidFrom => ("Valid from", "Valide depuis"),
            Word::Valid => ("valid", "valide"),
            Word::Download => ("Download", "Télécharger"),
            Word::Actions => ("Actions", "Actions"),
            Word::Approve => ("Approve", "Approuver"),
            Word::Reject => ("Reject", "Rejeter"),
            Word::Cancel => ("Cancel the order", "Annuler la commande"),
            Word::CheckDcv => ("Check the domain validation now", "Vérifier la validation maintenant"),
            Word::Renew => ("Renew", "Renouveler"),
            Word::Reissue => ("Reissue", "Réémettre"),
            Word::AutoRenewOff => ("Switch automatic renewal off", "Désactiver le renouvellement automatique"),
            Word::AutoRenewOn => ("Switch automatic renewal on", "Activer le renouvellement automatique"),
            Word::NewCsrOptional => (
                "New CSR (optional: without one the current key is kept)",
                "Nouveau CSR (facultatif : sans lui la clé actuelle est conservée)",
            ),
            Word::NewCsr => ("New CSR (PEM)", "Nouveau CSR (PEM)"),
            Word::Reason => ("Reason", "Motif"),
            Word::ConfirmRevoke => {
                ("I confirm the revocation: it cannot be undone.", "Je confirme la révocation : elle est définitive.")
            }
            Word::ReasonUnspecified => ("Unspecified", "Non précisé"),
            Word::ReasonKeyCompromise => ("Key compromise", "Clé compromise"),
            Word::ReasonAffiliationChanged => ("Affiliation changed", "Changement d'affiliation"),
            Word::ReasonSuperseded => ("Superseded", "Remplacé"),
            Word::ReasonCessation => ("Cessation of operation", "Cessation d'activité"),
            Word::NewOrder => ("New order", "Nouvelle commande"),
            Word::CsrPaste => ("CSR (paste the PEM)", "CSR (collez le PEM)"),
            Word::CsrUpload => ("or upload the CSR file", "ou envoyez le fichier CSR"),
            Word::Review => ("Review the order", "Vérifier la commande"),
            Word::ReviewOrder => ("Review and confirm", "Vérifier et confirmer"),
            Word::Names => ("Names", "Noms"),
            Word::WillNeedDcv => (
                "These names are not pre-validated; the order will wait for their validation:",
                "Ces noms ne sont pas prévalidés ; la commande attendra leur validation :",
            ),
            Word::Payment => ("Payment", "Paiement"),
            Word::Total => ("Total", "Total"),
            Word::WillNeedApproval => (
                "Your user cannot approve orders: this one will wait for an approver, who pays for it.",
                "Votre utilisateur ne peut pas approuver de commande : celle-ci attendra un approbateur, qui la paiera.",
            ),
            Word::ConfirmOrder => ("Confirm the order", "Confirmer la commande"),
            Word::StartOver => ("Start over", "Recommencer"),
            Word::AutoRenewalHowTo => (
                "A certificate switched on is renewed 65 days before it expires (sooner for short lifetimes), with its key kept, and paid as an order. ACME certificates are renewed by their clients and are not listed.",
                "Un certificat activé est renouvelé 65 jours avant son expiration (plus tôt pour une durée courte), avec la même clé, et payé comme une commande. Les certificats ACME sont renouvelés par leurs clients et ne figurent pas ici.",
            ),
            Word::Select => ("Select", "Sélection"),
            Word::RenewsOn => ("Renewal", "Renouvellement"),
            Word::Renewed => ("renewed", "renouvelé"),
            Word::Manual => ("manual", "manuel"),
            Word::SelectSome => ("Select at least one certificate.", "Sélectionnez au moins un certificat."),
            Word::Account => ("Account", "Compte"),
            Word::Statement => ("Statement", "Relevé"),
            Word::Ledger => ("Ledger", "Compte à afficher"),
            Word::Invoice => ("Month's invoice", "Facture du mois"),
            Word::From => ("From", "Du"),
            Word::To => ("To", "Au"),
            Word::Show => ("Show", "Afficher"),
            Word::Date => ("Date", "Date"),
            Word::Movement => ("Movement", "Mouvement"),
            Word::Amount => ("Amount", "Montant"),
            Word::Balance => ("Balance", "Solde"),
            Word::Consumption => ("Consumption per product and month", "Consommation par produit et par mois"),
            Word::Month => ("Month", "Mois"),
            Word::PrepareRenewals => ("Prepare your renewals", "Préparer vos renouvellements"),
            Word::TokensNeeded => ("Tokens needed", "Jetons nécessaires"),
            Word::Needed => ("Needed", "Nécessaires"),
            Word::Held => ("Held", "Détenus"),
            Word::ToBuy => ("To buy", "À acheter"),
            Word::CertificatesToRenew => ("Certificates to renew", "Certificats à renouveler"),
            Word::Contacts => ("Contacts and warning levels", "Contacts et seuils d'alerte"),
            Word::Role => ("Role", "Rôle"),
            Word::WarningLevels => ("Warning levels", "Seuils d'alerte"),
            Word::Level => ("Level", "Seuil"),
            Word::SetContact => ("Set the contact", "Enregistrer le contact"),
            Word::ItemForTokens => {
                ("Token item (for tokens only, such as ssl1)", "Article des jetons (pour les jetons, par exemple ssl1)")
            }
            Word::LevelHowTo => (
                "Level (an amount for the deposit, a count for tokens; 0 removes it)",
                "Seuil (un montant pour le dépôt, un nombre pour les jetons ; 0 le supprime)",
            ),
            Word::SetLevel => ("Set the level", "Enregistrer le seuil"),
            Word::NotAdmitted => (
                "This user may not sign in to the customer area: it is suspended, or it is an API user.",
                "Cet utilisateur ne peut pas se connecter à l'espace client : il est suspendu, ou c'est un utilisateur API.",
            ),
            Word::Users => ("Users", "Utilisateurs"),
            Word::Kind => ("Kind", "Type"),
            Word::Rights => ("Rights", "Droits"),
            Word::State => ("State", "État"),
            Word::Created => ("Created", "Créé le"),
            Word::Suspended => ("suspended", "suspendu"),
            Word::LockedState => ("locked", "bloqué"),
            Word::SaveRights => ("Save the rights", "Enregistrer les droits"),
            Word::Restore => ("Restore", "Rétablir"),
            Word::Suspend => ("Suspend", "Suspendre"),
            Word::Unlock => ("Unlock", "Débloquer"),
            Word::ResetPassword => ("Reset the password", "Réinitialiser le mot de passe"),
            Word::ConfirmDelete => {
                ("I confirm the deletion of this user.", "Je confirme la suppression de cet utilisateur.")
            }
            Word::Delete => ("Delete", "Supprimer"),
            Word::NewUser => ("Add a user", "Ajouter un utilisateur"),
            Word::WebUser => ("Customer area user", "Utilisateur de l'espace client"),
            Word::ApiUser => ("API user", "Utilisateur API"),
            Word::PasswordOptional => (
                "Password (leave empty to have one made and shown once)",
                "Mot de passe (laissez vide pour en générer un, montré une seule fois)",
            ),
            Word::PasswordShownOnce => (
                "Give this password to the user now: it is shown this once, and only its hash is kept.",
                "Transmettez ce mot de passe à l'utilisateur maintenant : il n'est montré qu'une fois, seule son empreinte est conservée.",
            ),
            Word::Logs => ("Logs", "Journaux"),
            Word::Address => ("Address", "Adresse"),
            Word::Front => ("Through", "Via"),
            Word::Action => ("Action", "Action"),
            Word::Detail => ("Detail", "Détail"),
            Word::Domains => ("Pre-validations and domains", "Prévalidations et domaines"),
            Word::Prevalidations => ("Pre-validations", "Prévalidations"),
            Word::Brand => ("Brand", "Marque"),
            Word::Domain => ("Domain", "Domaine"),
            Word::Validated => ("Validated", "Validé le"),
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
    Orders,
    UnknownStatus,
    BadDate,
    Pages,
    Previous,
    Page,
    Next,
    ExportCsv,
    NarrowSearch,
    OwnReference,
    Serial,
    Any,
    PlacedFrom,
    PlacedTo,
    ExpiresFrom,
    ExpiresTo,
    Search,
    Placed,
    Price,
    Order,
    Summary,
    OtherNames,
    Updated,
    AutoRenewal,
    On,
    Off,
    Failure,
    DomainValidation,
    DcvHowTo,
    Value,
    Certificates,
    ValidFrom,
    Valid,
    Download,
    Actions,
    Approve,
    Reject,
    Cancel,
    CheckDcv,
    Renew,
    Reissue,
    AutoRenewOff,
    AutoRenewOn,
    NewCsrOptional,
    NewCsr,
    Reason,
    ConfirmRevoke,
    ReasonUnspecified,
    ReasonKeyCompromise,
    ReasonAffiliationChanged,
    ReasonSuperseded,
    ReasonCessation,
    NewOrder,
    CsrPaste,
    CsrUpload,
    Review,
    ReviewOrder,
    Names,
    WillNeedDcv,
    Payment,
    Total,
    WillNeedApproval,
    ConfirmOrder,
    StartOver,
    AutoRenewalHowTo,
    Select,
    RenewsOn,
    Renewed,
    Manual,
    SelectSome,
    Account,
    Statement,
    Ledger,
    Invoice,
    From,
    To,
    Show,
    Date,
    Movement,
    Amount,
    Balance,
    Consumption,
    Month,
    PrepareRenewals,
    TokensNeeded,
    Needed,
    Held,
    ToBuy,
    CertificatesToRenew,
    Contacts,
    Role,
    WarningLevels,
    Level,
    SetContact,
    ItemForTokens,
    LevelHowTo,
    SetLevel,
    NotAdmitted,
    Users,
    Kind,
    Rights,
    State,
    Created,
    Suspended,
    LockedState,
    SaveRights,
    Restore,
    Suspend,
    Unlock,
    ResetPassword,
    ConfirmDelete,
    Delete,
    NewUser,
    WebUser,
    ApiUser,
    PasswordOptional,
    PasswordShownOnce,
    Logs,
    Address,
    Front,
    Action,
    Detail,
    Domains,
    Prevalidations,
    Brand,
    Domain,
    Validated,
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
