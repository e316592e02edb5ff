"""Our YAKE against the yake library it reproduces: the same keywords, order and scores, exactly.

yake 0.7 (a dev dependency) is the reference, with the stop word list we give it; its segtok
tokenization is checked on its own as well, on generated text full of segtok's special cases.
"""

import html
import random

import pytest
import yake
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yake.data.utils import pre_filter, tokenize_sentences

from linkedin_posts.analysis import keywords
from linkedin_posts.analysis.keywords import _sentences, extract_keywords, stopwords_for

EN_LONG_1 = """Last week our team shipped the new onboarding flow for Acme Cloud, and I want to \
share what we learned along the way. 🚀

First, talk to customers early. We interviewed 23 users before writing a single line of code, and \
half of our assumptions were wrong. The data pipeline we thought was the bottleneck wasn't; the \
real problem was the confusing pricing page.

Second, ship small. Instead of one big release we shipped 14 small changes over six weeks. Each \
change had a clear metric: activation rate, time-to-first-dashboard, and support tickets per new \
account. Activation went from 31% to 47%.

Third, write things down. Our design docs lived in Notion and every decision had an owner. When \
our CTO asked why we dropped SSO from the first release, the answer was one click away.

Fourth, celebrate the boring work. Migrations, flaky tests, on-call runbooks: nobody claps for \
them, but they're why the launch was quiet. Huge thanks to Maria Lopez and the platform team for \
the database migration that nobody noticed.

If you're building developer tools, I'd love to compare notes. What's the one onboarding metric \
you watch every morning? Read the full write-up at https://example.com/blog/onboarding-lessons or \
email me at jane.doe@example.com.

#ProductManagement #SaaS #Onboarding #StartupLife #DeveloperTools

P.S. We're hiring! Senior backend engineers (Python, PostgreSQL, Kubernetes) and a product \
designer in Lisbon or remote. DM me if you're interested, or ask for a referral. The team is \
small, kind and ambitious, and we ship every day. Our customers include banks, hospitals and three \
of the top ten e-commerce companies in Europe. The roadmap for 2025 includes AI-assisted \
dashboards, better data governance, and a self-serve analytics API.

One more thing, because several people asked in DMs: no, we did not use a big-bang rewrite. The \
old onboarding flow ran next to the new one behind a feature flag for three weeks, and we moved \
traffic 5% at a time. When the new flow broke for customers on Safari 16, only a few hundred \
accounts saw it, and the rollback took 40 seconds. Feature flags, good dashboards and a calm \
on-call rotation are worth more than any framework. If your team is planning a similar \
migration, start with the flags, then the metrics, and only then the code. Happy to share our \
checklist with anyone who wants it."""

EN_LONG_2 = """I got rejected from 37 jobs in 2023. Here's what I learned. 👇

1. Your CV is not your story. Recruiters spend about 7 seconds on a CV, so the first third of the \
page has to say who you are, what you did, and what changed because of it. "Led a team of 5" is a \
fact; "Led a team of 5 that cut cloud costs by 40% ($1.2M a year)" is a story.

2. Referrals beat applications. Of my 41 applications, the 4 that came through a referral all got \
to an interview. The other 37? Silence, or an automated email three months later.

3. Prepare for the boring questions. "Tell me about yourself" and "Why do you want to work here?" \
came up in every single interview. I wrote my answers down, said them out loud, and recorded \
myself. Painful, but it worked.

4. Ask better questions at the end. Don't ask about vacation days. Ask what the first 90 days look \
like, what the team struggles with, and how success is measured. Interviewers remember the \
questions you ask more than the answers you give.

5. Rejection is data, not a verdict. After each "no" I asked for feedback. Most companies never \
answered, but the 6 that did told me the same thing: my system design answers were too shallow. \
So I spent two months on distributed systems, read "Designing Data-Intensive Applications" twice, \
and practiced with friends every Sunday.

In January I signed an offer as a Senior Software Engineer at a FinTech startup in Amsterdam. \
Same person, same CV (mostly), better preparation.

If you're job hunting right now: it's not you, it's the market. But preparation is the one thing \
you control. Keep going. 💪

What was the most useful interview advice you ever got? Drop it in the comments - I read every \
single one.

#JobSearch #CareerAdvice #SoftwareEngineering #Interviews #OpenToWork #Hiring #TechCareers

(And yes, I'm happy to review CVs for software engineers this month. Send me a DM with "CV" and \
I'll get back to you within a week. No strings attached, no course to sell, no newsletter.)

A few people asked which resources helped most. Here is the honest list: the Tech Interview \
Handbook (free), two mock interviews a week with friends from my old team, LeetCode only for \
the patterns and never for streaks, and the System Design Primer on GitHub. For behavioural \
interviews, the STAR method works, but only if every story has a number in it: time saved, \
money saved, users helped, incidents avoided. Write ten stories once, reuse them forever. And \
sleep. I failed my worst interview after a night of cramming graph algorithms that nobody asked \
about. The next week, rested, I passed two rounds in a row."""

ES_LONG = """Hace cinco años fundamos Datalia en un garaje de Valencia con tres portátiles, un \
préstamo de 20.000 € y muchas ganas. Hoy somos 85 personas en Valencia, Madrid y Ciudad de \
México. 🎉

Quiero compartir cinco lecciones que aprendimos por el camino:

1️⃣ Contratar despacio, despedir rápido. Las primeras diez contrataciones definen la cultura de la \
empresa. Nos equivocamos dos veces y nos costó casi un año recuperar el ritmo.

2️⃣ El cliente no compra tecnología, compra resultados. Nuestros primeros clientes no querían \
"inteligencia artificial"; querían reducir el tiempo de cierre contable de 12 días a 3. Cuando \
cambiamos el discurso, las ventas se triplicaron.

3️⃣ La caja manda. En 2020 estuvimos a seis semanas de quedarnos sin dinero. Desde entonces \
revisamos la tesorería cada lunes, sin excepción, y siempre tenemos al menos 18 meses de margen.

4️⃣ Documentar es escalar. Cada proceso que no está escrito vive en la cabeza de una sola persona. \
Cuando esa persona se va de vacaciones, el proceso también. Hoy tenemos más de 300 páginas de \
documentación interna y el onboarding de un nuevo ingeniero dura dos semanas, no dos meses.

5️⃣ Cuidar al equipo no es un extra. Jornada de 35 horas en verano, formación pagada y \
teletrabajo flexible. La rotación voluntaria bajó del 22% al 7% en dos años.

Gracias a todo el equipo, a nuestros clientes y a los inversores que confiaron en nosotros cuando \
solo éramos una presentación de diez diapositivas. Gracias también a nuestras familias, que \
aguantaron fines de semana de trabajo, viajes y noches sin dormir.

¿Qué lección añadirías tú? Os leo en los comentarios.

Por cierto, ¡estamos contratando! Buscamos ingenieros de datos, una persona para Customer Success \
y un Head of Marketing. Más información en https://datalia.es/empleo o escribidme a \
talento@datalia.es.

#Emprendimiento #Startups #Liderazgo #CulturaEmpresarial #IA #Valencia

PD: Muchos me habéis preguntado por la financiación. Levantamos una ronda semilla de 1,5 \
millones en 2021 con un fondo de Barcelona y varios business angels del sector financiero, y \
desde 2023 somos rentables. No levantar más dinero fue una decisión consciente: preferimos \
crecer al ritmo de nuestros clientes y no al ritmo de una hoja de cálculo. No digo que sea el \
camino correcto para todas las startups, pero para nosotros ha funcionado. Si estás pensando en \
emprender en el sector B2B, escríbeme: siempre tengo un café pendiente para quien empieza."""

FR_LONG = """Il y a un an, j'ai quitté un CDI confortable dans une grande banque pour rejoindre \
une start-up de 12 personnes à Lyon. Beaucoup m'ont dit que c'était une erreur. Voici mon bilan, \
sans filtre. 👇

Ce que j'ai gagné :
- De l'autonomie. Dès la deuxième semaine, je pilotais seule la refonte de notre application \
mobile, avec un budget de 150 000 € et une équipe de quatre développeurs.
- De la vitesse. Une idée le lundi, un prototype le mercredi, des retours clients le vendredi. \
Dans la banque, la même idée aurait attendu trois comités.
- Du sens. Notre produit aide les petites entreprises à être payées à temps. Quand une \
boulangère m'écrit qu'elle a enfin pu payer ses fournisseurs, je sais pourquoi je me lève le \
matin.

Ce que j'ai perdu :
- De la sécurité. Nous avons levé 3 millions d'euros en mars, mais la première levée a échoué \
et nous avons vécu deux mois très difficiles.
- Du confort. Pas de service informatique, pas de service juridique, pas de cantine. Chacun fait \
un peu de tout, moi y compris.
- Du temps libre, au début. J'ai appris à dire non, et à fermer mon ordinateur à 19 h.

Ce que je conseillerais à quelqu'un qui hésite :
1. Parlez à au moins trois salariés de la start-up, pas seulement aux fondateurs.
2. Regardez la trésorerie et la date de la prochaine levée.
3. Négociez vos BSPCE, mais ne comptez pas dessus pour payer votre loyer.
4. Gardez votre réseau : mes anciens collègues de la banque sont aujourd'hui nos meilleurs \
ambassadeurs.

Est-ce que je referais le même choix ? Oui, sans hésiter. Mais je comprends parfaitement ceux qui \
préfèrent la stabilité d'un grand groupe, surtout avec une famille et un crédit immobilier.

Et vous, grand groupe ou start-up ? Dites-moi tout en commentaire.

#Carrière #Startup #FinTech #Lyon #Reconversion #FuturOfWork
Plus de détails sur notre blog : https://exemple.fr/blog/un-an-en-startup

PS : plusieurs personnes m'ont demandé comment j'avais préparé les entretiens. J'ai lu les \
comptes publiés de l'entreprise, testé le produit pendant deux semaines comme une vraie cliente, \
et préparé une liste de dix améliorations concrètes pour l'application mobile. Trois d'entre \
elles sont aujourd'hui en production ! Mon conseil : arrivez avec des idées, même imparfaites. \
Les fondateurs ne cherchent pas quelqu'un qui a raison sur tout, mais quelqu'un qui s'intéresse \
vraiment à leurs clients et qui a envie de construire avec eux."""

DE_LONG = """Nach 15 Jahren im Vertrieb habe ich eine Sache gelernt: Kunden kaufen keine Produkte, \
sie kaufen Lösungen für ihre Probleme. 💡

Letzte Woche hatte ich ein Gespräch mit dem Geschäftsführer eines mittelständischen \
Maschinenbauers aus Stuttgart. Sein Unternehmen hat 480 Mitarbeitende, drei Standorte und eine \
Exportquote von 70 %. Seine größte Sorge war nicht die Digitalisierung, nicht die Energiekosten \
und auch nicht die Konkurrenz aus China, sondern der Fachkräftemangel.

"Wir finden keine Leute mehr", sagte er. "Jede offene Stelle bleibt im Durchschnitt 9 Monate \
unbesetzt."

Wir haben dann zwei Stunden lang nicht über unsere Software gesprochen. Stattdessen haben wir \
überlegt, welche Aufgaben seine Ingenieure jeden Tag erledigen, die eigentlich niemand erledigen \
müsste: Angebote abtippen, Stücklisten abgleichen, Daten zwischen ERP und CAD kopieren, \
Lieferzeiten per E-Mail nachfragen.

Das Ergebnis: rund 12 Stunden pro Woche und Ingenieur, die sich automatisieren lassen. Bei 40 \
Ingenieuren sind das fast 25.000 Stunden im Jahr, also ungefähr 14 zusätzliche Vollzeitkräfte, \
ohne eine einzige Neueinstellung.

Erst danach haben wir über Preise, Lizenzen und Einführung gesprochen. Der Vertrag war nach zehn \
Tagen unterschrieben.

Meine drei Learnings für alle im B2B-Vertrieb:
1. Stellt Fragen, bevor ihr präsentiert. Die beste Demo ist die, die genau ein Problem löst.
2. Rechnet in der Sprache des Kunden: Stunden, Euro, Köpfe, nicht Features.
3. Hört zu. Wirklich. Auch wenn es weh tut, weil das Problem nicht zu eurem Produkt passt.

Übrigens: Wir suchen Verstärkung im Team! Account Executives (m/w/d) für die Regionen Bayern und \
Baden-Württemberg, gerne mit Erfahrung im Maschinenbau. Bewerbungen an karriere@beispiel.de oder \
direkt über https://beispiel.de/jobs.

Wie erlebt ihr den Fachkräftemangel in euren Unternehmen? Ich freue mich auf eure Erfahrungen in \
den Kommentaren.

#Vertrieb #B2B #Mittelstand #Digitalisierung #Fachkräftemangel #KI #Industrie40

Nachtrag: Einige haben gefragt, welche Prozesse wir zuerst automatisiert haben. Angefangen haben \
wir mit den Angeboten, weil dort die Daten schon sauber im ERP lagen. Danach kamen die \
Stücklisten, und erst im dritten Schritt die Kommunikation mit Lieferanten. Wichtig war, dass \
die Ingenieure von Anfang an mitentschieden haben, welche Aufgaben wegfallen. Niemand lässt sich \
gerne etwas wegautomatisieren, das er selbst für wichtig hält. Nach sechs Monaten war die \
Stimmung im Team übrigens besser als vorher, und die Angebotsquote ist um 18 % gestiegen."""

PT_LONG = """Há três anos eu era analista financeira num banco em Lisboa. Hoje lidero a equipa de \
dados de uma scale-up de energia solar com clientes em Portugal, Espanha e Brasil. ☀️

Muitas pessoas perguntam-me como fiz a transição. A resposta curta: devagar, com método e com \
muita ajuda.

O que funcionou para mim:

📊 Aprender a programar com problemas reais. Comecei com Python para automatizar os relatórios \
mensais que fazia à mão no Excel. Em seis meses, um trabalho de dois dias passou a levar vinte \
minutos.

📚 Estudar estatística a sério. Cursos online são ótimos, mas foi o livro "Statistical Rethinking" \
que mudou a forma como penso sobre incerteza e decisões.

🤝 Encontrar mentores. Duas colegas da equipa de risco ensinaram-me SQL, revisaram o meu código e \
apresentaram-me às pessoas certas. Nunca vou conseguir agradecer o suficiente.

🚀 Dizer sim a projetos fora da minha zona de conforto. O primeiro modelo de previsão de consumo \
que construí tinha um erro de 30%. O segundo, 12%. O atual, menos de 5%.

O que não funcionou:

❌ Tentar aprender tudo ao mesmo tempo: Spark, Kubernetes, deep learning, dashboards. Foquei-me \
primeiro no essencial: SQL, Python, estatística e comunicação.

❌ Esconder o que não sabia. As melhores perguntas que fiz começaram com "não percebi, podes \
explicar outra vez?".

Se estás a pensar mudar de carreira para dados, o meu conselho é simples: começa pelo problema \
que tens à frente, não pela ferramenta da moda. E partilha o que aprendes, mesmo que pareça \
pouco.

Estamos a contratar dois Data Engineers e um Analytics Engineer, em regime híbrido (Lisboa ou \
Porto) ou remoto. Envia-me mensagem ou candidata-te em https://exemplo.pt/carreiras.

#Dados #CarreiraEmDados #Python #EnergiaSolar #Transição #MulheresNaTecnologia

P.S. Várias pessoas perguntaram quanto tempo demorou. Foram cerca de dezoito meses entre o \
primeiro script em Python e a primeira oferta como analista de dados, sempre a trabalhar a \
tempo inteiro no banco. Estudava uma hora por dia antes do trabalho e fazia um projeto pessoal \
por trimestre: um painel de despesas, um modelo de previsão de preços de casas no Porto e uma \
análise dos dados abertos da rede elétrica nacional. Foi esse último projeto que mostrei na \
entrevista, e foi ele que me abriu a porta da energia solar."""

CORPUS: list[tuple[str, str, str]] = [
    # Short posts (about 50 characters).
    ("en-short-new-job", "en", "Excited to join Acme Robotics as CTO! 🚀 #NewJob"),
    ("en-short-ai", "en", "AI won't replace you. People using AI will. #AI"),
    ("en-short-url", "en", "NEW: our Q3 report is out → https://acme.io/q3"),
    ("en-short-caps", "en", "BIG NEWS!!! WE ARE HIRING ENGINEERS IN LONDON AND NYC"),
    ("en-short-numbers", "en", "Revenue grew 45% YoY to $12.5M; EBITDA margin 18.2% (Q4 2024)."),
    ("en-short-hashtags", "en", "#AI #ML #DataScience #Python #LLM #GenerativeAI"),
    ("en-short-emoji", "en", "🚀🚀🚀 Launch day 🎉🎉 Thank you 🙏 all ❤️ #launch"),
    ("es-short-anniversary", "es", "¡Hoy cumplimos 10 años! Gracias a todo el equipo 🎉"),
    ("es-short-ai", "es", "La IA generativa cambia el marketing B2B. #IA #Marketing"),
    ("fr-short-new-job", "fr", "Ravie de rejoindre l'équipe Data de Doctolib ! 🙌"),
    ("fr-short-remote", "fr", "Le télétravail, c'est fini ? Pas chez nous. #RH"),
    ("de-short-hiring", "de", "Wir stellen ein: 3 Backend-Entwickler (m/w/d) in Berlin!"),
    ("de-short-ai", "de", "KI verändert den Mittelstand schneller als gedacht. #KI"),
    ("pt-short-team", "pt", "Orgulhosa do nosso time em São Paulo! 💚 #Carreira"),
    ("pt-short-data", "pt", "Dados sem contexto não geram decisões. #DataDriven"),
    # Medium posts, with line breaks of every kind, entities, quotes and lists.
    (
        "en-medium-crlf",
        "en",
        "Three things I wish I knew as a new manager:\r\n\r\n1. Your calendar is your strategy.\r\n"
        '2. Feedback is a gift &amp; a skill.\r\n3. "No" is a complete sentence.\r\n\r\n'
        "What would you add? #Leadership #Management #FirstTimeManager",
    ),
    (
        "en-medium-bullets",
        "en",
        "We just published our 2024 State of DevOps report 📈\n\n"
        "• 72% of teams deploy daily\n• Mean time to recovery fell to 41 minutes\n"
        "• Only 18% use AI for code review (yet)\n\n"
        "Full report (free, no email wall): https://devops.example.org/report-2024\n"
        "Thanks to the 3,400 engineers who answered!\u2028#DevOps #SRE #CloudNative",
    ),
    (
        "en-medium-story",
        "en",
        'My daughter asked me what I do at work. I said: "I help computers understand '
        'pictures." She said: "So you teach robots to see?" Yes. Yes, I do. 🤖👀\n\n'
        "Computer vision is 20 years of math, 10 years of GPUs and 5 years of really good "
        "datasets. It's also a 6-year-old asking the right question. Dr. Fei-Fei Li said it "
        "best: the goal isn't machines that see, it's machines that understand.\n\n"
        "#ComputerVision #MachineLearning #DeepLearning #AI",
    ),
    (
        "en-medium-tabs",
        "en",
        "Quarterly results\tQ1\tQ2\nRevenue\t$4.1M\t$5.3M\nCustomers\t310\t402\n\n"
        "Proud of this team. Onward to Q3! (e.g. SOC 2, the EU launch, and v2.0 of the API)",
    ),
    (
        "es-medium",
        "es",
        "Después de 8 años en consultoría, empiezo una nueva etapa como Directora de "
        "Transformación Digital en Grupo Ibérica. 🙌\n\nGracias a mis compañeros de Deloitte por "
        "todo lo aprendido, y a mi familia por el apoyo incondicional.\n\n"
        "Nuevos retos: IA aplicada a logística, cultura del dato y, sobre todo, personas. "
        "¿Hablamos? #NuevoEmpleo #TransformaciónDigital #Logística",
    ),
    (
        "es-medium-caps",
        "es",
        "ÚLTIMAS PLAZAS para nuestro webinar gratuito: «Cómo usar ChatGPT en ventas B2B sin "
        "perder el toque humano».\n📅 Jueves 14 de marzo, 18:00 (CET)\n👉 Inscripción: "
        "https://eventos.example.es/chatgpt-ventas\n#Ventas #IA #ChatGPT",
    ),
    (
        "fr-medium",
        "fr",
        "« La donnée est le nouveau pétrole », disait-on en 2010. En 2024, c'est plutôt le "
        "nouveau plastique : partout, mal recyclée, et difficile à nettoyer. 😅\n\n"
        "Chez Datavia, nous aidons les PME à mettre de l'ordre dans leurs données clients avant "
        "de parler d'IA. Résultat moyen : -35 % de doublons et +20 % de taux d'ouverture des "
        "e-mails.\n\n#Data #PME #IA #Marketing",
    ),
    (
        "fr-medium-event",
        "fr",
        "J-7 avant VivaTech ! Retrouvez l'équipe sur le stand C42 (hall 1) du 22 au 25 mai. "
        "Au programme : démonstrations, café et une conférence sur l'IA responsable par notre "
        "CTO, M. Dupont, le jeudi à 14 h 30.\nInscription : https://exemple.fr/vivatech\n"
        "#VivaTech #IA #Innovation #Paris",
    ),
    (
        "de-medium",
        "de",
        "„Remote Work funktioniert nicht“ \u2013 höre ich immer wieder. Unsere Zahlen sagen etwas "
        "anderes: 96 % Kundenzufriedenheit, 11 % weniger Fluktuation und 2,5 Tage schnellere "
        "Releases seit 2021.\n\nDer Trick? Klare Ziele, schriftliche Kommunikation und z.B. "
        "ein Team-Offsite pro Quartal. #RemoteWork #NewWork #Führung",
    ),
    (
        "de-medium-list",
        "de",
        "Heute vor 10 Jahren: mein erster Tag bei der SAP in Walldorf. 🎂\n\nWas ich gelernt "
        "habe:\n- Geduld ist eine Superkraft.\n- Gute Dokumentation spart Meetings.\n- Das beste "
        "Netzwerk entsteht in der Kaffeeküche.\n\nDanke an alle Kolleginnen und Kollegen! "
        "#Jubiläum #SAP #Karriere",
    ),
    (
        "pt-medium",
        "pt",
        "Fechámos a nossa ronda Série A: 12 milhões de euros para levar a logística "
        "sustentável a mais 5 países europeus! 🌍\n\nObrigado à Indico Capital, aos nossos "
        "clientes e, acima de tudo, à equipa incrível que tornou isto possível.\n\n"
        "Estamos a contratar: https://exemplo.pt/vagas #Startup #Logística #Sustentabilidade",
    ),
    (
        "pt-medium-br",
        "pt",
        "Você sabia que 70% dos projetos de IA não saem do piloto? 🤔 No nosso último estudo com "
        "200 empresas brasileiras, os principais motivos foram: dados ruins, falta de patrocínio "
        "executivo e expectativas irreais.\n\nBaixe o relatório completo no link nos comentários. "
        "#InteligênciaArtificial #Dados #Inovação",
    ),
    # Long posts (about 2500 characters).
    ("en-long-launch", "en", EN_LONG_1),
    ("en-long-jobs", "en", EN_LONG_2),
    ("es-long", "es", ES_LONG),
    ("fr-long", "fr", FR_LONG),
    ("de-long", "de", DE_LONG),
    ("pt-long", "pt", PT_LONG),
]


def reference(text: str, language: str, **options: float) -> list[tuple[str, float]]:
    return reference_with(text, language, set(stopwords_for(language)), **options)


def reference_with(
    text: str, language: str, stopwords: set[str], **options: float
) -> list[tuple[str, float]]:
    extractor = yake.KeywordExtractor(
        lan=language,
        n=int(options.get("max_ngram", 3)),
        dedup_lim=options.get("dedup_threshold", 0.9),
        dedup_func="seqm",
        window_size=int(options.get("window", 1)),
        top=int(options.get("top", 8)),
        stopwords=stopwords,
    )
    return [(keyword, float(score)) for keyword, score in extractor.extract_keywords(text)]


def test_the_corpus_is_what_it_claims() -> None:
    assert len(CORPUS) >= 30
    assert {language for _, language, _ in CORPUS} == {"en", "es", "fr", "de", "pt"}
    lengths = sorted(len(text) for _, _, text in CORPUS)
    assert lengths[0] <= 50
    assert lengths[-1] >= 2500
    assert sum(len(text) >= 2250 for _, _, text in CORPUS) >= 6


@pytest.mark.parametrize(("language", "text"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_same_keywords_order_and_scores_as_yake(language: str, text: str) -> None:
    # Every text: the same eight keywords, in the same order, with bit-for-bit the same scores.
    ours = extract_keywords(text, stopwords=stopwords_for(language))
    assert ours == reference(text, language)
    assert ours  # each text has keywords: the comparison compares something


@pytest.mark.parametrize("kept", [7, 1 << 15])
def test_words_kept_from_text_to_text_change_no_result(
    monkeypatch: pytest.MonkeyPatch, kept: int
) -> None:
    """What a word's token holds is kept per stop word list across calls: with lists that differ
    only by one word, and with a bound small enough to start over within a text, every text
    still gets yake's keywords."""
    monkeypatch.setattr(keywords, "_KNOWN_WORDS", kept)
    monkeypatch.setattr(keywords, "_KNOWN_LISTS", 2)
    monkeypatch.setattr(keywords, "_known", {})
    english = stopwords_for("en")
    without_team = frozenset(english | {"team"})
    for _, language, text in CORPUS[:12]:
        for stopwords in (stopwords_for(language), english, without_team):
            expected = reference_with(text, language, set(stopwords))
            assert extract_keywords(text, stopwords=stopwords) == expected, text[:60]
    assert len(keywords._known) <= 2
    assert all(len(words) <= kept for words in keywords._known.values())


OPTIONS = [
    {"max_ngram": 1},
    {"max_ngram": 2, "window": 2},
    {"max_ngram": 4, "top": 20},
    {"max_ngram": 3, "window": 3, "dedup_threshold": 0.5},
    {"max_ngram": 3, "dedup_threshold": 1.0, "top": 30},  # no deduplication: yake lower-cases
]


@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_same_as_yake_with_other_options(options: dict[str, float]) -> None:
    for _, language, text in CORPUS:
        ours = extract_keywords(
            text,
            stopwords=stopwords_for(language),
            top=int(options.get("top", 8)),
            max_ngram=int(options["max_ngram"]),
            window=int(options.get("window", 1)),
            dedup_threshold=options.get("dedup_threshold", 0.9),
        )
        assert ours == reference(text, language, **options), text[:60]


# segtok's special cases: abbreviations, initials, dates, brackets, quotes, apostrophes that are
# letters, hyphens, units, chemical formulas, URLs, e-mail addresses, entities, odd spaces.
SOUP = [
    *"aAbBsSzZeEiIgGnNtTdD019 .,;:!?'\"-()[]{}<>@#/&$%*+=_~`^|\\",
    *" \n\n\t\r",
    *"\u00a0\u2028\x1c\u00ad\u2010\u2013\u2014\u2019\u00b4\u02b9\u02bc\u2032\u00b9\u00b2\u00b3",
    *"\u207b\u207a\u2080\u2082\u00b5éßİΣς中文\u0301🚀\ufe0f…。\uff01\u203c",
    *["&amp;", "&#39;", "&lt;", "http://", "https://a.b/", "x@y.z", "Dr", "e.g", "Mr", "Jan"],
    *["et al", "and ", "of ", "the ", "I", "U.S", "'s", "n't", "'re", "km", "H", "O", "12"],
    *["Professor ", "by ", "Leadership ", "data ", "team ", "AI ", "Growth. ", "12345678901234"],
    *["123456789012345678901234", "abcdefghijklmnopqrstuvwxyz", "rock'n'roll", "co-op", "x."],
]


def soup(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(SOUP) for _ in range(rng.randint(0, size)))


# Where our segmentation takes shortcuts: abbreviations at the end of long sentences, long runs
# of digits, initials, dates, brackets, pieces joined by apostrophes that are letters too.
SEGMENTATION = [
    "Call 123456789012345678901234. Next one. 123456789012345678901234. And then",
    "We met the team led by Professor X. Smith in the lab. Then we left.",
    "A long sentence that ends with an abbreviation like approx. 12 people, e.g. the team.",
    "Published on 12. Mar. 2024 in Berlin. Read by Dr. Müller, Prof. Weber and J. R. R. Tolkien.",
    "Results (see Fig. 3). The end (in brackets. Really.) Next [1. Item. Two.] done.",
    "U.S. and E.U. rules differ. i.e. not the same. The U.K. left. z.B. das hier.",
    "Don\u2019t stop. It\u2019s fine, isn't it? rock'n'roll's \u02bca\u02bcs "
    "d\u02bcartagnan\u02bcs O'Neil-Smith's.",
    "km² and H₂O, CO₂⁻ at 12:30, 3.5% of 1,000,000 people... Really?! Yes!!",
]


def test_sentences_and_tokens_are_segtoks() -> None:
    rng = random.Random(20240)
    texts = [text for _, _, text in CORPUS] + SEGMENTATION
    texts += [soup(rng, 300) for _ in range(500)]
    for text in texts:
        assert _sentences(text) == tokenize_sentences(pre_filter(text.replace("\n", " "))), text


def test_same_as_yake_on_generated_text() -> None:
    rng = random.Random(7)
    stopwords = stopwords_for("en")
    for _ in range(100):
        text = soup(rng, 400)
        assert extract_keywords(text, stopwords=stopwords, top=10) == reference(
            text, "en", top=10
        ), text


WORDS = st.sampled_from(
    [
        *["data", "Data", "DATA", "team", "teams", "AI", "the", "of", "and", "growth"],
        *["Growth's", "don't", "e.g.", "Dr.", "U.S.", "co-op", "#hiring", "@maria", "3.5"],
        *["https://x.io/a", "1,000", "42%", "🚀", "👍🏽", "❤️", "...", "!", "?", ",", ";", ":"],
        *["(", ")", "«", "»", "„", "“", "\u2014", "Σοφία", "İstanbul", "東京", "مرحبا", "&amp;"],
    ]
)
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", ", ", "", "\t", "\r\n"])
POSTS = st.text() | st.lists(st.tuples(WORDS, SEPARATORS), max_size=120).map(
    lambda parts: "".join(word + separator for word, separator in parts)
)


def squeezed(text: str) -> str:
    return "".join(text.casefold().split())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(POSTS, st.integers(min_value=1, max_value=10))
def test_any_text_gives_ranked_keywords_from_the_text(text: str, top: int) -> None:
    keywords = extract_keywords(text, stopwords=stopwords_for("en"), top=top)
    assert len(keywords) <= top
    scores = [score for _, score in keywords]
    assert scores == sorted(scores)
    # segtok un-escapes HTML entities, and yake drops tokens that start with an apostrophe
    # (the "'s" of "Maria's"), which can bring two words together.
    haystacks = {squeezed(text), squeezed(html.unescape(text))}
    for keyword, _ in keywords:
        assert keyword
        # No space at either end (Python's strip() would also take control characters such as
        # U+001F, which the tokenizer rightly keeps in a token).
        assert keyword == keyword.strip(" \t\n\r\f\v")
        if "'" in text:
            assert all(any(squeezed(w) in h for h in haystacks) for w in keyword.split())
        else:
            assert any(squeezed(keyword) in h for h in haystacks)


@settings(max_examples=200, deadline=None)
@given(POSTS)
def test_any_text_gives_what_yake_gives(text: str) -> None:
    assert extract_keywords(text, stopwords=stopwords_for("en")) == reference(text, "en")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\n\t",
        "🚀🎉🙏❤️👍🏽",
        "!!! ... ??? --- ;;; :) (( ))",
        "the and of to in a is that it was for",
        "Kubernetes",
        "Kubernetes.",
        "data " * 600,  # 3000 characters, one word
        "AI " * 1000,
        "&amp; &lt; &gt;",
        "https://example.com/a/b?c=d#e",
        "jane.doe@example.com",
        "1 2 3 4.5 6,000 78%",
        "'s 's 's n't",
        "\x00\x01\x1c\x1f\u200b\ufeff",
        "a" * 3000,
    ],
    ids=lambda text: repr(text[:20]),
)
def test_odd_input(text: str) -> None:
    ours = extract_keywords(text, stopwords=stopwords_for("en"))
    assert ours == reference(text, "en")


def test_what_is_left_and_what_is_found_in_odd_input() -> None:
    stopwords = stopwords_for("en")
    for text in ["", "🚀🎉🙏", "!!! ...", "the and of to", "3.5 42% 1,000"]:
        assert extract_keywords(text, stopwords=stopwords) == []
    assert [k for k, _ in extract_keywords("Kubernetes", stopwords=stopwords)] == ["Kubernetes"]
    assert [k for k, _ in extract_keywords("a" * 3000, stopwords=stopwords)] == ["a" * 3000]
    # "data data" is too like "data data data", which scores better, to be kept as well.
    repeated = extract_keywords("data " * 600, stopwords=stopwords)
    assert [k for k, _ in repeated] == ["data data data", "data"]


def test_no_keywords_for_top_below_one() -> None:
    # yake returns every candidate for top=0; a top of zero asks for none.
    assert extract_keywords("Kubernetes at scale", stopwords=frozenset(), top=0) == []


def test_keywords_keep_the_casing_of_their_first_occurrence() -> None:
    text = "Machine Learning is everywhere. machine learning needs data. MACHINE LEARNING rocks."
    keywords = dict(extract_keywords(text, stopwords=stopwords_for("en")))
    assert "Machine Learning" in keywords
    assert "machine learning" not in keywords
    assert "MACHINE LEARNING" not in keywords


def test_stopwords_for_known_languages() -> None:
    for code, word in [("en", "the"), ("es", "el"), ("fr", "les"), ("de", "und"), ("pt", "não")]:
        words = stopwords_for(code)
        assert word in words
        assert all(w == w.lower() for w in words)
    assert stopwords_for("EN") == stopwords_for("en-US") == stopwords_for("english")
    assert stopwords_for("pt_BR") == stopwords_for("pt")
    assert "og" in stopwords_for("no")  # Norwegian, which stop-words files under "nb"


def test_stopwords_for_unknown_language_is_empty() -> None:
    # yake's list for a language it lacks (stopwords_noLang.txt) is empty too.
    assert stopwords_for("xx") == frozenset()
    assert stopwords_for("") == frozenset()


def test_stopwords_for_is_cached() -> None:
    assert stopwords_for("fr") is stopwords_for("fr")


# Ends of sentences: abbreviations and near misses, upper, lower, titlecase and modifier letters.
ENDS = st.lists(
    st.sampled_from([*"aAbBeEgGiIrRsSvVzZ.\u00e4\u02b0\u01c5 1,(", "e.g", "Dr", "z.B", "Jän"]),
    max_size=12,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(ENDS)
def test_the_abbreviation_shortcut_answers_as_the_pattern_does(prev: str) -> None:
    assert keywords._is_abbreviation(prev) == keywords._is_abbreviation_slow(prev)


def test_the_abbreviations_spelled_out_are_what_the_pattern_matches() -> None:
    for endings in keywords._ABBREVIATION_ENDINGS.values():
        for ending in endings:
            assert keywords._ABBREVIATION.search(f"see {ending}"), ending


ASCII_PIECES = st.text(
    alphabet=st.sampled_from([*"aZ09'-.,;:!?()[]#@%$&*/\\\"_~`^+=<>|{}\x1c\x7f"]),
    min_size=1,
    max_size=12,
)


@settings(max_examples=2000, deadline=None)
@given(ASCII_PIECES)
def test_an_ascii_piece_splits_as_the_unicode_pattern_splits_it(piece: str) -> None:
    unicode = keywords._SIMPLE_PIECE.fullmatch(piece)
    ascii_only = keywords._SIMPLE_ASCII_PIECE.fullmatch(piece)
    assert (unicode and unicode.groups()) == (ascii_only and ascii_only.groups())


def test_the_apostrophes_a_sentence_is_searched_for_are_segtoks() -> None:
    assert set("'\u2019\u00b4\u02b9\u02bc\u2032") == keywords._APOSTROPHE_SET
