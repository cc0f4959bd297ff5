//! Table tests of the guidelines check, and the regression file of the
//! project's own labelled comments.

use std::path::PathBuf;
use std::sync::LazyLock;

use super::*;

static CHECKER: LazyLock<Checker> = LazyLock::new(|| Checker::new(Guidelines::default(), None));

fn check(text: &str) -> Outcome {
    CHECKER.check(text, &Context::default())
}

/// Whatever the verdict, not for this reason.
#[track_caller]
fn assert_not_for(text: &str, reason: Reason) {
    let o = check(text);
    assert!(
        !o.reasons.contains(&reason),
        "{text:?} is not refused for {reason:?}: {:?}",
        o.notes
    );
}

/// Approve, or held or rejected for this reason (among others).
#[track_caller]
fn assert_case(text: &str, expected: Option<Reason>) {
    let o = check(text);
    match expected {
        None => assert_eq!(
            o.verdict,
            Verdict::Approve,
            "{text:?} should be approved: {:?} {:?}",
            o.reasons,
            o.notes
        ),
        Some(r) => {
            assert_ne!(
                o.verdict,
                Verdict::Approve,
                "{text:?} should be refused for {r:?}"
            );
            assert!(
                o.reasons.contains(&r),
                "{text:?} should be refused for {r:?}, got {:?} {:?}",
                o.reasons,
                o.notes
            );
        }
    }
}

#[test]
fn civil_english_comments_are_approved() {
    for text in [
        "Well said.",
        "Thank you",
        "I agree.",
        "The Scunthorpe plant will close next year, the company said.",
        "The assassination of the archduke started the First World War.",
        "Essex and Middlesex reported floods; Sussex did not.",
        "The cocktail of taxes on petrol is hurting small traders.",
        "A classic piece of reporting on the Arsenal takeover.",
        "Damn, I did not know the dam was that old.",
        "What a bloody mess the traffic was after the match.",
        "What a crap day for the markets.",
        "This policy is stupid and the ministry should withdraw it.",
        "The decision is idiotic, and I hope the court strikes it down.",
        "Your argument ignores the 2019 figures, which tell a different story.",
        "You have a point, but the rural numbers are worse.",
        "The word 'jugaad' sums up how the village fixed its pump.",
        "My nani always said the monsoon comes after the mango season, and she was right.",
        "the article is good but the headline is misleading",
        "Is there any data on how many schools reopened?",
        "The GST council and the RBI both met on Friday.",
        "The batsman mishit the ball straight to cover.",
        "Shiitake mushrooms are now grown in Meghalaya.",
    ] {
        assert_case(text, None);
    }
}

#[test]
fn other_languages_and_hinglish_are_refused_for_language() {
    for text in [
        "मुझे यह लेख बहुत पसंद आया।",
        "Très bon article, merci pour ce travail.",
        "Ein sehr guter Bericht über die Lage.",
        "Este artículo es muy bueno, gracias.",
        "Sarkar ne bilkul sahi kiya, ab dekhte hain aage kya hota hai.",
        "Yaar ye government kuch nahi karegi, sab jhooth hai.",
        "Bhai tum log kya samajhte ho, yeh sab drama hai.",
        "Mujhe lagta hai ki yeh khabar galat hai.",
    ] {
        assert_case(text, Some(Reason::Language));
    }
}

#[test]
fn broken_form_is_refused() {
    for text in [
        "ok",
        "wow",
        "😂😂😂😂",
        "!!!!!!!!",
        "...",
        "www.example.com",
        "https://example.net/full-story",
        "yes yes yes yes yes",
        "WAKE UP PEOPLE",
        "THIS GOVERNMENT HAS FAILED EVERY SINGLE CITIZEN",
        "Petrol. Diesel. Taxes.",
        "qwerty asdf",
    ] {
        assert_case(text, Some(Reason::Form));
    }
}

#[test]
fn strong_profanity_is_refused_however_it_is_spelt() {
    for text in [
        "This f u c k i n g government never listens.",
        "This paper is run by f\u{057D}cking liars.",
        "The f\u{200D}u\u{200D}c\u{200D}k\u{200D}ing roads are broken again.",
        "This sh1t paper never learns.",
        "What sh!t journalism.",
        "A bunch of f@#king thieves run this state.",
        "Total bullshit from start to end.",
        "What a fuuuuucking disaster this budget is.",
        "The f.u.c.k.i.n.g tax rises again.",
    ] {
        assert_case(text, Some(Reason::Abuse));
    }
}

#[test]
fn dehumanising_language_is_refused() {
    assert_case(
        "These migrants are parasites and should be thrown out.",
        Some(Reason::Abuse),
    );
    assert_case(
        "Those people are vermin and do not belong here.",
        Some(Reason::Abuse),
    );
}

#[test]
fn insults_at_a_person_are_personal_but_harsh_words_about_a_policy_are_not() {
    for text in [
        "You are a complete fool if you believe this.",
        "You are too stupid to understand basic economics.",
        "@priya_s nobody cares what an uneducated clown like you thinks.",
        "The columnist is a senile old idiot who should retire.",
        "Shut your mouth and go read a book, moron.",
        "You clearly have no brain.",
        "Go back to school, you illiterate fool.",
        "Are you dumb or just pretending?",
    ] {
        assert_case(text, Some(Reason::Personal));
    }
    for text in [
        "This decision is crazy and the ministry will regret it.",
        "The bill is a stupid idea and it will fail.",
        "Your argument is weak, and the numbers say so.",
        "I disagree with you, but I appreciate that you cited your sources.",
    ] {
        assert_case(text, None);
    }
}

#[test]
fn spam_is_refused() {
    assert_case(
        "Work from home and earn 1 lakh per month, WhatsApp me at 99XXXXXX10.",
        Some(Reason::Spam),
    );
    assert_case(
        "Earn money online daily, call +91 98765 43210 for details.",
        Some(Reason::Spam),
    );
    assert_case(
        "Limited offer!!! Get 90% off on branded watches at http://watches.example.biz today",
        Some(Reason::Spam),
    );
}

#[test]
fn a_link_to_the_publication_itself_is_not_spam() {
    let g = Guidelines {
        allowed_link_hosts: vec!["meridian.example".into()],
        ..Guidelines::default()
    };
    let checker = Checker::new(g, None);
    let text =
        "The earlier report at https://www.meridian.example/city/floods-12 explains the delay.";
    let o = checker.check(text, &Context::default());
    assert_eq!(o.verdict, Verdict::Approve, "{:?}", o.notes);
    let o = CHECKER.check(text, &Context::default());
    assert!(o.reasons.contains(&Reason::Spam));
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().expect("a timestamp")
}

#[test]
fn the_same_text_on_several_stories_is_spam() {
    let text = "Everyone should read the report on the new flyover before voting.";
    let recent = vec![
        Recent {
            text: text.into(),
            story: Some("1".into()),
            time: Some(at("2025-01-01T10:00:00Z")),
        },
        Recent {
            text: text.into(),
            story: Some("2".into()),
            time: Some(at("2025-01-01T11:00:00Z")),
        },
    ];
    let ctx = Context {
        author: Some("a"),
        story: Some("3"),
        time: Some(at("2025-01-01T12:00:00Z")),
        recent: &recent,
    };
    let o = CHECKER.check(text, &ctx);
    assert_eq!(o.verdict, Verdict::Reject);
    assert_eq!(o.reasons, vec![Reason::Spam]);
    // Once elsewhere: a moderator looks.
    let ctx = Context {
        recent: &recent[..1],
        ..ctx
    };
    assert_eq!(CHECKER.check(text, &ctx).verdict, Verdict::Hold);
    // A different comment by the same author is fine.
    let o = CHECKER.check("The flyover has been delayed twice already.", &ctx);
    assert_eq!(o.verdict, Verdict::Approve);
}

#[test]
fn flooding_is_held() {
    let now = at("2025-01-01T12:00:00Z");
    let recent: Vec<Recent> = (1..=5)
        .map(|i| Recent {
            text: format!("Comment number {i} on the budget, with its own point."),
            story: Some(format!("{i}")),
            time: Some(now - jiff::SignedDuration::from_secs(60 * i)),
        })
        .collect();
    let ctx = Context {
        author: Some("a"),
        story: Some("9"),
        time: Some(now),
        recent: &recent,
    };
    let o = CHECKER.check("One more thought on the fiscal deficit figures.", &ctx);
    assert_eq!(o.verdict, Verdict::Hold);
    assert_eq!(o.reasons, vec![Reason::Spam]);
    // The same five spread over a day are not flooding.
    let spread: Vec<Recent> = recent
        .iter()
        .enumerate()
        .map(|(i, r)| Recent {
            time: Some(now - jiff::SignedDuration::from_secs(3600 * (i as i64 + 1))),
            ..r.clone()
        })
        .collect();
    let ctx = Context {
        recent: &spread,
        ..ctx
    };
    assert_eq!(
        CHECKER
            .check("One more thought on the fiscal deficit figures.", &ctx)
            .verdict,
        Verdict::Approve
    );
}

#[test]
fn every_reason_has_a_code_and_words_for_the_author() {
    for r in Reason::ALL {
        assert_eq!(Reason::parse(r.code()), Some(r));
        assert!(r.message().starts_with("Your comment"));
        assert_eq!(serde_json::to_value(r).expect("json"), r.code());
    }
    assert!(Reason::Language.message().contains("not to be in English"));
}

#[test]
fn guidelines_read_from_settings_keep_the_defaults_they_do_not_name() {
    let g: Guidelines =
        serde_json::from_str(r#"{"banned": ["frack*"], "thresholds": {"flood_count": 3}}"#)
            .expect("guidelines");
    assert_eq!(g.banned, vec!["frack*"]);
    assert_eq!(g.thresholds.flood_count, 3);
    assert_eq!(g.thresholds.min_words, Thresholds::default().min_words);
    assert_eq!(g.insults, Guidelines::default().insults);
    let checker = Checker::new(g, None);
    assert!(
        checker
            .check("This fracking tax is a disgrace.", &Context::default())
            .reasons
            .contains(&Reason::Abuse)
    );
    assert!(serde_json::from_str::<Guidelines>(r#"{"banned_words": []}"#).is_err());
}

#[test]
fn the_checker_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Checker>();
}

/// The project's labelled comments (shared/data/moderation beside the
/// repository, or MASTHEAD_MODERATION_DATA): every line is a regression case.
fn data_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("MASTHEAD_MODERATION_DATA") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/moderation")
}

#[test]
fn every_line_of_the_guidelines_development_file_gets_its_verdict() {
    let path = data_dir().join("guidelines_dev.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the regression file {} is missing ({e}); set MASTHEAD_MODERATION_DATA to the folder that has it",
            path.display()
        )
    });
    let lines = eval::read_lines(&text, "guidelines_dev.jsonl").expect("JSON lines");
    assert!(
        lines.len() >= 90,
        "guidelines_dev.jsonl has only {} lines",
        lines.len()
    );
    let mut wrong = Vec::new();
    for line in &lines {
        let o = CHECKER.check(&line.text, &Context::default());
        let want_approve = line.label.as_deref() == Some("ok");
        if (o.verdict == Verdict::Approve) != want_approve {
            wrong.push(format!(
                "{:?} -> {:?} {:?} {:?}",
                line.text, o.verdict, o.reasons, o.notes
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} lines wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn lines_of_one_author_are_each_others_recent_comments_in_a_stream() {
    let text = "Everyone should read the report on the new flyover before voting.";
    let line = |story: &str, author: &str| eval::Line {
        text: text.into(),
        label: None,
        why: None,
        author: Some(author.into()),
        story: Some(story.into()),
        time: None,
    };
    let mut stream = eval::Stream::default();
    let verdicts: Vec<Verdict> = [
        line("1", "a"),
        line("1", "b"),
        line("2", "a"),
        line("3", "a"),
    ]
    .iter()
    .map(|l| stream.check(&CHECKER, l, true).verdict)
    .collect();
    assert_eq!(
        verdicts,
        vec![
            Verdict::Approve,
            Verdict::Approve,
            Verdict::Hold,
            Verdict::Reject
        ]
    );
}

#[test]
fn a_model_that_scores_high_holds_what_the_rules_approve() {
    let examples: Vec<(String, bool)> = (0..30)
        .flat_map(|i| {
            [
                (
                    format!("The council approved the new bus depot, report {i}."),
                    false,
                ),
                (
                    format!("Our town deserves better drainage before the rains, part {i}."),
                    true,
                ),
            ]
        })
        .collect();
    let checker = Checker::new(Guidelines::default(), Some(train(&examples)));
    let text = "Our town deserves better drainage before the rains.";
    assert_eq!(
        checker.check_rules(text, &Context::default()).verdict,
        Verdict::Approve
    );
    let o = checker.check(text, &Context::default());
    assert_eq!(o.verdict, Verdict::Hold);
    assert!(o.scores["model"] >= 0.85);
}

#[test]
fn a_belittling_noun_said_of_the_reader_is_personal_but_not_said_of_anything_else() {
    for text in [
        "You are a child.",
        "You're such a joke, mate.",
        "You are a disgrace to the profession.",
        "Honestly, you are nothing but a hypocrite.",
        "You are acting like a child again.",
        "Don't be such a crybaby.",
        "What a clown you are.",
        "you're a real dick",
        "Your a loser and everyone knows it.",
        "You sir, are a fraud.",
        "You are human garbage.",
        "You people are the scum of the earth.",
        "Are you fucking dumb? Read the article.",
        "That's because you're a nobody.",
        "You're just as dumb as the minister.",
    ] {
        assert_case(text, Some(Reason::Personal));
    }
    for text in [
        "You are a child of the eighties if you remember Doordarshan on Sunday mornings.",
        "The policy is a joke, and the minister knows it.",
        "My child is in class four and her school has no science teacher.",
        "If you are a child, ask your parents before you sign up.",
        "You are a baby boomer, so this pension change hits you first.",
        "You are not a child any more, the article says, once you turn eighteen.",
        "The government is a disgrace on this issue, and voters will remember it.",
        "That umpiring decision was a joke, the ball was clearly missing leg.",
        "Are you really sure the bloody bridge will open in May?",
        "You're just as likely to be stuck in traffic as on the train.",
        "Your answer is just as dumb a take as the minister's, but it is not about you.",
    ] {
        assert_case(text, None);
    }
}

#[test]
fn attacks_without_an_insulting_word_are_personal() {
    for text in [
        "Take your 'testament' and shove it.",
        "Go crawl back under your rock.",
        "Nobody gives a damn about you.",
        "Still living in your mom's basement?",
        "Your mother is a hooker.",
        "Are you really this stupid?",
        "wow your just as dumb as you look",
        "You must be stupid to believe that.",
    ] {
        assert_case(text, Some(Reason::Personal));
    }
    for text in [
        "Your mother must be proud of the award, and rightly so.",
        "Nobody asked the villagers before the bypass was approved.",
        "Manchester City will win the league again, nobody else has the depth.",
        "Your comment is stupid in places but the numbers are right.",
        "If you thought that advert was racist, read the original.",
        "Damn! You are quite right about the bus fares.",
        "The new rules shove it onto the states without any money.",
        "So the fare hike is 10 rupees now and another 10 next year? Ridiculous.",
    ] {
        assert_not_for(text, Reason::Personal);
    }
}

#[test]
fn heavily_disguised_attacks_are_found() {
    for text in [
        "F v < k you too",
        "With a screen name like yours, you need to s..t..f..u..",
        "so basically you are an id iot who repeats the talking points",
        "a dou*che*bag like you cannot remember the 50 he scored",
        "I'm sure dumb-asses like yourself will be trolling all night.",
    ] {
        assert_case(text, Some(Reason::Personal));
    }
    // Split words that are English as written stay English.
    for text in [
        "The council will dig a hole for the new drain on Monday.",
        "The therapist said the rates are too high for most families.",
        "The housing loan rates went up again, EMIs are getting hard to manage.",
        "It poses a risk to you and your family, the report says.",
    ] {
        assert_case(text, None);
    }
}

#[test]
fn self_description_and_verbs_are_not_insults() {
    for text in [
        "I'm a moron for believing the forecast, my washing is soaked.",
        "Excuse me while I puke, the smell from the dump is unbearable.",
        "Please don't troll the other readers.",
        "You're fucked if the bank raises the rate again, like all of us.",
    ] {
        assert_not_for(text, Reason::Personal);
    }
}

#[test]
fn names_hashtags_and_slang_do_not_make_english_foreign() {
    for text in [
        "Eli Manning, Brett Favre, John Elway",
        "Messi, Neymar, Suarez: the best front three I have seen.",
        "Love this team!! #WhistlePodu",
        "really risky pick! hes done now!",
        "Sachin, Dravid, Ganguly, Laxman. They don't make batting line-ups like that any more.",
        "Lindsey headed for another train wreck??",
    ] {
        let o = check(text);
        assert!(
            !o.reasons.contains(&Reason::Language),
            "{text:?} is English: {:?} {:?}",
            o.notes,
            o.scores
        );
    }
    // A heading or a sentence in another language is still not English.
    for text in [
        "La Asamblea General",
        "Grazie mille Sabrina! Sei così dolce.",
        "Nikogo nie można zmuszać do należenia do jakiegoś stowarzyszenia.",
        "Jeder hat das Recht auf Leben, Freiheit und Sicherheit der Person.",
    ] {
        assert_case(text, Some(Reason::Language));
    }
}
