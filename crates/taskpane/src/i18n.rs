//! The pane's texts in Finnish and English: a typed key → (fi, en) table.
//!
//! Why not `leptos_i18n`: two languages and ~160 strings do not need locale files, a build script and a
//! macro layer; a `match` is checked by the compiler (a missing translation does not compile), costs
//! nothing at start-up, adds no dependency to the WASM (the budget is 200 KB gzipped), and is tested
//! natively. Switching "Sovelluksen kieli" re-renders every text at once because views read the language
//! signal through [`t`]. Labels are the user guide's (`outlook-addin-kayttoonotto.fi.txt`) word for word.

use api_types::preferences::UiLanguage;

macro_rules! texts {
    ($( $key:ident => $fi:literal, $en:literal; )*) => {
        /// A text of the UI.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum K { $( $key, )* }

        impl K {
            /// Every key, for tests.
            pub const ALL: &'static [K] = &[ $( K::$key, )* ];
        }

        /// Finnish and English text of every key, in the order of `K` (a table, not a `match`: the
        /// lookup compiles to one index instead of a branch per text).
        static TEXTS: &[[&str; 2]] = &[ $( [$fi, $en], )* ];

        /// The text of `key` in `lang`.
        pub fn t(key: K, lang: UiLanguage) -> &'static str {
            TEXTS[key as usize][lang as usize]
        }
    };
}

texts! {
    // Shell and navigation
    Navigation => "Lisäosan näkymät", "Add-in views";
    NavPreferences => "Asetukset", "Preferences";
    NavLogin => "Kirjaudu sisään", "Log in";
    NavItem => "Liitä CRM:ään", "Link to CRM";
    NavStatus => "Synkronointi", "Synchronisation";
    Starting => "Käynnistetään…", "Starting…";
    Connecting => "Yhdistetään palveluun…", "Connecting to the service…";
    Loading => "Ladataan…", "Loading…";
    Working => "Hetki…", "Working…";
    Checking => "Tarkistetaan…", "Checking…";
    Saving => "Tallennetaan…", "Saving…";
    Retry => "Yritä uudelleen", "Try again";
    Cancel => "Peruuta", "Cancel";
    Save => "Tallenna", "Save";
    Open => "Avaa", "Open";
    Remove => "Poista", "Remove";
    DarkTheme => "Tumma teema", "Dark theme";
    NetworkError => "Palveluun ei saatu yhteyttä. Tarkista verkkoyhteys ja yritä uudelleen.", "Could not reach the service. Check the network connection and try again.";
    UnexpectedAnswer => "Palvelu vastasi odottamattomasti. Yritä uudelleen.", "The service gave an unexpected answer. Please try again.";
    NotPairedYet => "Outlook-tiliä ei ole vielä liitetty CRM:ään.", "This Outlook account is not paired with the CRM yet.";
    GoToPreferences => "Siirry asetuksiin", "Go to Preferences";

    // Browser preview
    PreviewTitle => "Selainesikatselu.", "Browser preview.";
    PreviewExplain => "Lisäosa ei ole Outlookissa: anna postilaatikko, jonka puolesta toimitaan.", "The add-in is not running in Outlook: name the mailbox to act for.";
    PreviewMailbox => "Postilaatikko", "Mailbox";
    Connect => "Yhdistä", "Connect";
    PreviewStart => "Anna postilaatikon osoite yllä ja valitse Yhdistä.", "Enter the mailbox address above and choose Connect.";
    PreviewNeedsMailbox => "Anna ensin postilaatikon osoite.", "Enter a mailbox address first.";
    PreviewItemId => "Kohteen tunnus (Outlook)", "Item id (Outlook)";
    PreviewItemIsMessage => "Kohde on sähköpostiviesti", "The item is an email message";

    // Preferences step 1
    Preferences => "Asetukset", "Preferences";
    Step1 => "1. Liitä tili", "1. Pair the account";
    Step2 => "2. Synkronoinnin asetukset", "2. Sync settings";
    NextStep => "Seuraava vaihe", "Next step";
    PairingIntro => "Liitä tämä Outlook-tili CRM:ään. Kun kaikki tiedot on täytetty, jatka painamalla Tallenna.", "Pair this Outlook account with the CRM. When everything is filled in, continue with Save.";
    ApiKey => "API key", "API key";
    ApiKeyHint => "CRM:n Outlook-tyyppinen API-avain: CRM:n Asetukset → Webservice API avaimet.", "The CRM's API key of type Outlook: in the CRM, Settings → Webservice API keys.";
    CrmAddress => "CRM-osoite", "CRM address";
    CrmAddressHint => "Yrityksen CRM:n internet-osoite (http:// -alkua ei tarvitse kirjoittaa).", "Your company CRM's internet address (no need to type http://).";
    User => "Käyttäjä", "User";
    Password => "Salasana", "Password";
    Email => "Sähköposti", "Email";
    EmailHint => "Synkronoitavan Outlook-tilin sähköpostiosoite.", "The email address of the Outlook account to sync.";
    Calendar => "Kalenteri", "Calendar";
    PairingSaved => "Tili liitetty CRM:ään.", "The account is now paired with the CRM.";
    PairedAt => "Liitetty", "Paired";

    // Unpair and forced removal
    UnpairTitle => "Synkronointiparin purku", "Unpair";
    UnpairExplain => "Jos haluat synkronoida toisen Outlook-tilin, pura ensin tämä synkronointipari.", "To sync a different Outlook account, unpair this sync pair first.";
    Unpair => "Pura synkronointipari", "Unpair";
    UnpairConfirm => "Puretaanko synkronointipari? Synkronointi loppuu; merkinnät jäävät molempiin kalentereihin.", "Unpair? Synchronisation stops; entries stay in both calendars.";
    Unpaired => "Synkronointipari purettu.", "Unpaired.";
    ForcedQuestion => "Purkaminen ei onnistunut. Haluatko tehdä pakotetun poiston?", "Unpairing was not possible. Do you want a forced removal?";
    ForcedRiskGuide => "Pakotetussa poistossa riskinä on, että kalenterimerkinnät muodostuvat kahteen kertaan, kun add-in aktivoidaan jälleen.", "Risk of forced removal: calendar entries may be created twice when the add-in is activated again.";
    NoDuplicatesAnswer => "Tässä lisäosassa näin ei käy: jokainen synkronoitu merkintä kantaa CRM-aktiviteetin tunnisteen, ja kun tili liitetään uudelleen, olemassa olevat parit otetaan käyttöön eikä niitä luoda toiseen kertaan.", "This add-in does not let that happen: every synced entry carries its CRM activity id, and when the account is paired again, existing pairs are adopted instead of being created a second time.";
    ForcedRemoval => "Pakotettu poisto", "Forced removal";
    ForcedDone => "Pakotettu poisto tehty. Tili ei ole enää liitetty CRM:ään.", "Forced removal done. The account is no longer paired with the CRM.";
    LeftBehindTitle => "Jäi siivoamatta:", "Left behind:";

    // Preferences step 2
    OutlookToCrm => "Outlookista CRM:ään", "From Outlook to CRM";
    CrmToOutlook => "CRM:stä Outlookiin", "From CRM to Outlook";
    HistoryDays => "Synkronoi historiaan", "Sync into the past";
    FutureDays => "Synkronoi tulevaisuuteen", "Sync into the future";
    Days => "päivää", "days";
    CreateNew => "Luo uusia", "Create new";
    CreateNewHint => "Aktiviteettityypit, joiden uudet merkinnät synkronoidaan. Jos mitään ei ole valittu, uusia ei synkronoida.", "Activity types whose new entries are synced. If nothing is selected, nothing new is synced.";
    EditDelete => "Muokkaa/Poista", "Edit/delete";
    EditDeleteHint => "Aktiviteettityypit, joiden muokkaukset ja poistot synkronoidaan.", "Activity types whose edits and deletions are synced.";
    SelectAll => "Valitse kaikki", "Select all";
    SelectNone => "Poista valinnat", "Select none";
    Languages => "Kielet", "Languages";
    AppLanguage => "Sovelluksen kieli", "Application language";
    PicklistLanguage => "Valintalistojen kieli", "Picklist language";
    CalendarSection => "Kalenteri", "Calendar";
    AutoSync => "Synkronoi kalenteri", "Sync calendar";
    AutoSyncHint => "Kirjautumisen jälkeen Outlookin muutokset siirtyvät CRM:ään muutamassa sekunnissa ja CRM:n muutokset Outlookiin minuutin välein.", "After logging in, Outlook changes reach the CRM within seconds and CRM changes reach Outlook every minute.";
    LoginAtStart => "Kirjaudu CRM:ään Outlookin käynnistyessä", "Log in to CRM when Outlook starts";
    LoginAtStartHint => "Vaatii, että kirjautumistiedot on muistettu.", "Requires remembered credentials.";
    LoginAtStartNeedsRemember => "Kirjautumistietoja ei ole muistettu: kirjaudu sisään Muista kirjautumistiedot -valinnalla.", "No credentials are remembered: log in with Remember credentials ticked.";
    AddContacts => "Lisää liitetyt CRM kontaktit Outlookin osoitekirjaan", "Add linked CRM contacts to the Outlook address book";
    SendErrorReports => "Lähetä virheilmoitukset ohjelmiston kehittäjille", "Send error reports to the software developers";
    PrivateEntries => "Salaiset merkinnät", "Private entries";
    PrivateFull => "Synkronoi", "Sync them";
    PrivateBusy => "Synkronoi vain merkintä, ei sisältöä", "Sync only the entry, not its content";
    PrivateSkip => "Älä synkronoi", "Do not sync";
    ShowCustomerRelations => "Näytä oletuksena asiakkaiden relaatiot", "Show customer relations by default";
    ShowCustomerRelationsHint => "Relaatiot näkyvät hakuikkunassa ennen kuin hakuehtoja kirjoitetaan.", "Relations show in the search before any search text is typed.";
    DefaultActivityType => "Oletusaktiviteettityyppi", "Default activity type";
    DefaultActivityTypeHint => "Asetetaan jokaisen Outlookissa tehdyn merkinnän aktiviteettityypiksi. Tyyppiä voi aina muuttaa käsin.", "Set as the activity type of every entry made in Outlook. The type can always be changed by hand.";
    EmptyChoice => "(tyhjä)", "(empty)";
    WarnEmptyDefaultType => "Oletustyyppi on tyhjä: Outlookin merkinnät eivät siirry CRM:ään, ennen kuin niille valitaan tyyppi käsin.", "The default type is empty: Outlook entries do not go to the CRM until a type is chosen for them by hand.";
    WarnNothingCreated => "Luo uusia -listalla ei ole valintoja: siihen suuntaan ei luoda uusia merkintöjä.", "A Create new list is empty: no new entries are created in that direction.";
    EmailTracking => "Seuraa sähköposteja automaattisesti", "Track emails automatically";
    EmailTrackingHint => "Saapuneet ja lähetetyt viestit CRM:n yhteyshenkilöiden kanssa tallentuvat CRM:ään minuutin kuluessa. Sisäisiä viestejä ei tallenneta; salaiset viestit noudattavat Salaiset merkinnät -asetusta.", "Inbox and Sent Items mail with CRM contacts is stored in the CRM within a minute. Internal mail is not stored; private messages follow the Private entries setting.";
    SettingsSaved => "Asetukset tallennettu.", "Settings saved.";
    SettingsTakeEffect => "Muutokset tulevat voimaan seuraavassa synkronoinnissa.", "Changes take effect at the next synchronisation.";

    // Login
    LoginTitle => "Kirjaudu sisään", "Log in";
    LogIn => "Kirjaudu sisään", "Log in";
    LogOut => "Kirjaudu ulos", "Log out";
    RememberCredentials => "Muista kirjautumistiedot", "Remember credentials";
    RememberHint => "Tarvitaan automaattiseen kirjautumiseen seuraavilla kerroilla. Salasana säilytetään salattuna palvelimella.", "Needed for automatic login next time. The password is kept encrypted on the server.";
    LoggedIn => "Kirjauduttu sisään.", "Logged in.";
    AutoLoggedIn => "Kirjauduttu automaattisesti CRM:ään.", "Logged in to the CRM automatically.";
    LoggedOut => "Kirjauduttu ulos.", "Logged out.";
    LoggedInAs => "Kirjautunut CRM:ään käyttäjänä", "Logged in to the CRM as";
    RememberedNote => "Kirjautumistiedot on muistettu: synkronointi jatkuu taustalla.", "Credentials are remembered: sync continues in the background.";
    NotRememberedNote => "Kirjautumistietoja ei muisteta: taustasynkronointi pysähtyy, kun CRM-istunto päättyy.", "Credentials are not remembered: background sync stops when the CRM session ends.";
    CooldownUntil => "Liian monta väärää salasanaa. Seuraava yritys on mahdollinen", "Too many wrong passwords. You can try again at";

    // Item view
    NoItemOpen => "Avaa kalenterimerkintä tai sähköpostiviesti, niin voit liittää sen CRM:ään.", "Open a calendar entry or an email message to link it to the CRM.";
    UnsavedItem => "Uutta merkintää ei ole vielä tallennettu.", "This new entry has not been saved yet.";
    SaveItemFirst => "Tallenna merkintä", "Save the entry";
    ActivityType => "Aktiviteettityyppi", "Activity type";
    ActivityStatus => "Tila", "Status";
    TypeFromDefault => "Tyyppi tulee oletusaktiviteettityypistä.", "The type comes from the default activity type.";
    NoTypeNoSync => "Ilman aktiviteettityyppiä merkintä ei siirry CRM:ään.", "Without an activity type the entry does not go to the CRM.";
    Companies => "Yritykset", "Companies";
    Contacts => "Kontaktit", "Contacts";
    Projects => "Projektit", "Projects";
    Potentials => "Myyntimahdollisuudet", "Potentials";
    SearchPlaceholder => "Hae…", "Search…";
    Related => "Liittyy", "Related";
    RelationAdded => "Lisätty.", "Added.";
    SyncState => "Synkronoinnin tila:", "Sync state:";
    StateSynced => "Synkronoitu", "Synced";
    StatePending => "Odottaa synkronointia", "Waiting for sync";
    StateExcluded => "Ei synkronoida", "Not synced";
    StateConflict => "Ristiriita", "Conflict";
    StateError => "Virhe", "Error";
    OpenInCrm => "Avaa CRM:ssä", "Open in CRM";
    SaveToCrm => "Tallenna CRM:ään", "Save to CRM";
    ItemSaved => "Tallennettu CRM:ään.", "Saved to the CRM.";
    IncludeAttachments => "Liitteet mukaan", "Include attachments";
    AttachmentsNotSaved => "Näitä liitteitä ei tallennettu CRM:ään:", "These attachments were not saved to the CRM:";
    MessageIsSaved => "Tallennettu CRM:ään", "Saved in the CRM";
    MessageNotSaved => "Ei tallennettu CRM:ään", "Not saved in the CRM";
    MessageSaved => "Viesti tallennettu CRM:ään.", "Message saved to the CRM.";
    MessageAlreadySaved => "Viesti oli jo CRM:ssä; se päivitettiin.", "The message was already in the CRM; it was updated.";

    // Sync status
    SyncNow => "Synkronoi nyt", "Sync now";
    SyncStarted => "Synkronointi aloitettu.", "Synchronisation started.";
    SyncAlreadyRunning => "Synkronointi on jo käynnissä.", "A synchronisation is already running.";
    AutoSyncActive => "Automaattinen synkronointi on käytössä.", "Automatic synchronisation is on.";
    AutoSyncInactive => "Automaattinen synkronointi ei ole käynnissä.", "Automatic synchronisation is not running.";
    LastRun => "Viimeisin synkronointi", "Last run";
    Outcome => "Tulos", "Result";
    OutcomeRunning => "Käynnissä", "Running";
    OutcomeOk => "Onnistui", "Succeeded";
    OutcomePartial => "Osittain onnistui", "Partly succeeded";
    OutcomeFailed => "Epäonnistui", "Failed";
    OutcomeUnknown => "Tuntematon", "Unknown";
    Progress => "Edistyminen", "Progress";
    CountCreated => "Luotu", "Created";
    CountUpdated => "Päivitetty", "Updated";
    CountDeleted => "Poistettu", "Deleted";
    CountSkipped => "Ohitettu", "Skipped";
    CountConflicts => "Ristiriidat", "Conflicts";
    CountErrors => "Virheet", "Errors";
    Conflicts => "Ristiriidat", "Conflicts";
    Errors => "Virheet", "Errors";
    NoRunsYet => "Ei vielä synkronointeja.", "No runs yet.";
    NextRun => "Seuraava synkronointi:", "Next run:";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_texts() {
        for &k in K::ALL {
            for lang in UiLanguage::ALL {
                let s = t(k, lang);
                assert!(!s.trim().is_empty(), "{k:?} {lang:?} is empty");
                assert_eq!(s, s.trim(), "{k:?} {lang:?} has stray spaces");
            }
        }
    }

    #[test]
    fn languages_differ_except_for_names() {
        // Product names and the guide's untranslated label may be equal; anything else equal is a
        // forgotten translation.
        let same: Vec<K> = K::ALL
            .iter()
            .copied()
            .filter(|&k| t(k, UiLanguage::Fi) == t(k, UiLanguage::En))
            .collect();
        assert_eq!(same, vec![K::ApiKey]);
    }

    #[test]
    fn the_guides_labels_are_used_word_for_word() {
        let fi = |k| t(k, UiLanguage::Fi);
        assert_eq!(fi(K::CrmAddress), "CRM-osoite");
        assert_eq!(fi(K::User), "Käyttäjä");
        assert_eq!(fi(K::Password), "Salasana");
        assert_eq!(fi(K::Email), "Sähköposti");
        assert_eq!(fi(K::Calendar), "Kalenteri");
        assert_eq!(fi(K::Save), "Tallenna");
        assert_eq!(fi(K::OutlookToCrm), "Outlookista CRM:ään");
        assert_eq!(fi(K::CrmToOutlook), "CRM:stä Outlookiin");
        assert_eq!(fi(K::HistoryDays), "Synkronoi historiaan");
        assert_eq!(fi(K::FutureDays), "Synkronoi tulevaisuuteen");
        assert_eq!(fi(K::CreateNew), "Luo uusia");
        assert_eq!(fi(K::EditDelete), "Muokkaa/Poista");
        assert_eq!(fi(K::Languages), "Kielet");
        assert_eq!(fi(K::AppLanguage), "Sovelluksen kieli");
        assert_eq!(fi(K::PicklistLanguage), "Valintalistojen kieli");
        assert_eq!(fi(K::AutoSync), "Synkronoi kalenteri");
        assert_eq!(
            fi(K::LoginAtStart),
            "Kirjaudu CRM:ään Outlookin käynnistyessä"
        );
        assert_eq!(
            fi(K::AddContacts),
            "Lisää liitetyt CRM kontaktit Outlookin osoitekirjaan"
        );
        assert_eq!(
            fi(K::SendErrorReports),
            "Lähetä virheilmoitukset ohjelmiston kehittäjille"
        );
        assert_eq!(fi(K::PrivateEntries), "Salaiset merkinnät");
        assert_eq!(
            fi(K::ShowCustomerRelations),
            "Näytä oletuksena asiakkaiden relaatiot"
        );
        assert_eq!(fi(K::DefaultActivityType), "Oletusaktiviteettityyppi");
        assert_eq!(fi(K::LogIn), "Kirjaudu sisään");
        assert_eq!(fi(K::LogOut), "Kirjaudu ulos");
        assert_eq!(fi(K::RememberCredentials), "Muista kirjautumistiedot");
        assert_eq!(fi(K::NavPreferences), "Asetukset");
        assert_eq!(fi(K::SyncNow), "Synkronoi nyt");
        assert_eq!(fi(K::ForcedRemoval), "Pakotettu poisto");
    }
}
