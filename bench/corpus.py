"""A deterministic corpus of realistic, varied LinkedIn posts for benchmarks and tests.

    .venv/bin/python bench/corpus.py --stats
    .venv/bin/python bench/corpus.py --count 1000 --seed 2026 --out posts.jsonl
    .venv/bin/python bench/corpus.py --help

Posts in en (about 40%), es, fr, de, pt, it and nl, composed from the sentence banks below: a
hook, paragraphs (or one wall of text), bullet lists, emojis (ZWJ sequences, skin tones, flags,
keycaps), hashtags, links, mentions, ALL CAPS lines and the odd reserved character. Each post is
between 50 and 3000 grapheme clusters long (its length drawn uniformly), never blank, and all
texts are unique. The same count and seed give the same posts; `posts(n)` is a prefix of
`posts(m)` for n < m.
"""

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import regex

MIN_GRAPHEMES, MAX_GRAPHEMES = 50, 3000
LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl")
LANGUAGE_WEIGHTS = (4, 1, 1, 1, 1, 1, 1)  # English 40%, the others 10% each

GRAPHEME = regex.compile(r"\X")
PUNCTUATION_END = frozenset(".!?…")
HASHTAG = regex.compile(r"(?<![\w#])#\w")
EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3")
# For --stats: a line with no lower-case letter and three upper-case ones in a row; a list item.
CAPS_LINE = regex.compile(r"^[^\p{Ll}\n]*\p{Lu}{3}[^\p{Ll}\n]*$", regex.M)
BULLET_LINE = regex.compile(r"^(?:[•\-✅👉🚀→] |\d\ufe0f\u20e3 )", regex.M)

EMOJIS = ("🚀", "💡", "🎉", "🔥", "🙌", "📈", "✨", "🤝", "💪", "🙏", "❤️", "☕", "🎯", "👀", "😅")
# ZWJ sequences and skin tones, each one grapheme of several code points.
PEOPLE = (
    "👩🏽‍💻", "🧑🏻‍🚀", "👨🏿‍🏫", "👩‍🔬", "🧑‍🤝‍🧑", "👨‍👩‍👧", "❤️‍🔥", "🏳️‍🌈",
    "👍🏾", "👏🏻", "🙌🏽", "💪🏿", "👋🏼", "🤦🏻‍♀️",
)  # fmt: skip
FLAGS = {
    "en": ("🇺🇸", "🇬🇧", "🇮🇪", "🇨🇦"),
    "es": ("🇪🇸", "🇲🇽", "🇦🇷", "🇨🇴"),
    "fr": ("🇫🇷", "🇧🇪", "🇨🇦"),
    "de": ("🇩🇪", "🇦🇹", "🇨🇭"),
    "pt": ("🇧🇷", "🇵🇹"),
    "it": ("🇮🇹", "🇨🇭"),
    "nl": ("🇳🇱", "🇧🇪"),
}
BULLETS = ("•", "-", "✅", "👉", "🚀", "→")
KEYCAPS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣")
BAIT = ("#follow", "#like", "#followme", "#likeforlike", "#comment", "#viral")
NAMES = (
    "Ada Lovelace", "Grace Hopper", "María José Fernández", "Zoë Müller", "François Lefèvre",
    "João Gonçalves", "Giulia Rossi", "Sven de Vries", "Aiko Tanaka", "Chidi Okafor",
    "Søren Kierkegaard", "Ana-Lucía Peña",
)  # fmt: skip
URN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
LINK_PATHS = ("blog", "events", "careers", "podcast", "guides", "jobs")
LINK_SLUGS = (
    "remote-onboarding-playbook", "ai-at-work", "hiring-guide-2026", "launch-recap",
    "sales-discovery-checklist", "career-switch", "q3-roadmap", "leadership-notes",
)  # fmt: skip
# Language-neutral lines full of reserved characters, now and then in a post of any language.
NEUTRAL = (
    "if (meetings > 3) { cancel(); }",
    "snake_case > camelCase ~ change my mind",
    "<p>Hello, world!</p> | [draft] | **v2**",
)


@dataclass(frozen=True, slots=True)
class Post:
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Bank:
    """What posts in one language are made of; "{n}" and "{mention}" are filled in."""

    hooks: tuple[str, ...]
    body: tuple[str, ...]
    ctas: tuple[str, ...]
    closings: tuple[str, ...]
    lists: tuple[str, ...]  # the line introducing a bullet list
    thanks: tuple[str, ...]
    link: tuple[str, ...]  # the words before a link
    extras: tuple[str, ...]  # sentences with ( ) [ ] * < > | ~ C# 50%
    shouts: tuple[str, ...]  # lines in ALL CAPS
    tags: tuple[str, ...]


def parse_bank(source: str) -> Bank:
    """Sections start with "== name"; one item a line; an indented line continues the last."""
    sections: dict[str, list[str]] = {}
    items: list[str] = []
    for line in source.strip().splitlines():
        if line.startswith("== "):
            items = sections.setdefault(line[3:].strip(), [])
        elif line.startswith(" "):
            items[-1] = f"{items[-1]} {line.strip()}"
        elif line.strip():
            items.append(line.strip())
    sections["tags"] = " ".join(sections["tags"]).split()
    return Bank(**{name: tuple(lines) for name, lines in sections.items()})


EN = """
== hooks
I got rejected {n} times before landing my first product role.
Nobody talks about this part of leadership.
We shipped something big this week, and I'm still processing it.
Unpopular opinion: most meetings should be emails.
{n} years in sales taught me one thing above everything else.
I almost didn't post this.
Hiring is broken. Here's what we changed.
AI won't take your job. Someone who uses it well might.
Last Tuesday, an intern asked me a question I couldn't answer.
== body
The best leaders I've worked with didn't have all the answers; they asked better questions.
We interviewed {n} candidates for one role, and the strongest one had no degree at all.
Remote work didn't kill our culture. Bad onboarding almost did.
Our product launch slipped by two weeks, and it was the best decision we made all year.
Feedback is a gift, but only if you give it within a day or two.
I block two hours every morning for deep work, and I protect them like a client meeting.
Most deals are lost long before the proposal goes out.
Nobody remembers the slide deck; they remember how you made them feel in the room.
We replaced {n} recurring meetings with a weekly written update, and nothing broke.
AI drafted the first version in ten minutes; my team spent two days making it true.
Your career is a marathon, not a sprint, so pace yourself.
Learning in public is uncomfortable, and that's exactly why it works.
The job description said "rockstar." The job needed someone patient.
Customers don't buy features; they buy a better version of their Monday morning.
I used to think saying no was rude. Now I think it's the kindest thing a manager can do.
Our support team surfaced more product insights last quarter than any survey ever did.
A promotion is not a reward for past work; it's a bet on future work.
Spend a day shadowing your customers and half your roadmap will rewrite itself.
Working from home made me realize how much of my day was performance, not progress.
Every great hire I've made started with a conversation, not a résumé.
If your team is afraid to bring you bad news, you will always hear it too late.
We gave everyone on the team a budget for books and courses, and attrition went down.
Cold outreach works when it's about them, not about you.
The launch was the easy part. The {n} weeks of bug reports afterwards were the real test.
Writing a good prompt is just writing clearly, which was always a valuable skill.
I've changed careers three times, and each time I was told it was too late.
Mentors tell you what they did; sponsors say your name when you're not in the room.
Burnout is not a badge of honor.
Small teams ship faster because every person can see the whole problem.
Hiring slowly sounds wise until you're the one waiting for the offer.
== ctas
What would you add to this list?
Agree or disagree? Let me know in the comments.
Have you experienced something similar?
Repost if you think your network needs to hear this.
Curious to hear how your team handles this.
Drop a comment and I'll send you the template.
== closings
Onwards and upwards.
Grateful for this team every single day.
Back to work now.
Thanks for reading this far.
== lists
Here's what I learned:
A few things that actually worked for us:
== thanks
Huge thanks to {mention} for pushing me to share this.
Shout-out to {mention}, who made this launch happen.
== link
Full write-up here:
== extras
Our stack (for the curious): Python | Go | C# [plus a little Rust].
Early-bird tickets are 50% off until Friday, *no* code needed.
We reply to every candidate in <48h and cut onboarding from ~6 weeks to ~2.
== shouts
WE'RE HIRING!
THIS IS NOT A DRILL.
== tags
#leadership #AI #hiring #careers #remotework #sales #productmanagement #learning #innovation
#startups #futureofwork #management
"""

ES = """
== hooks
Me rechazaron {n} veces antes de conseguir mi primer puesto en producto.
De esto casi nadie habla cuando se habla de liderazgo.
Esta semana lanzamos algo grande y todavía lo estoy procesando.
Opinión impopular: la mayoría de las reuniones deberían ser un correo.
{n} años en ventas me enseñaron una cosa por encima de todo.
Casi no publico esto.
Los procesos de selección están rotos. Esto es lo que cambiamos.
La IA no te va a quitar el trabajo. Alguien que la use bien, quizás sí.
== body
Los mejores líderes con los que he trabajado no tenían todas las respuestas, pero sabían hacer
  mejores preguntas.
Entrevistamos a {n} candidatos para un solo puesto y la mejor no tenía título universitario.
El teletrabajo no acabó con nuestra cultura; un mal onboarding casi lo consigue.
Retrasamos el lanzamiento dos semanas y fue la mejor decisión del año.
El feedback es un regalo, pero solo si lo das en uno o dos días.
Bloqueo dos horas cada mañana para trabajo profundo y las protejo como una reunión con un cliente.
La mayoría de las ventas se pierden mucho antes de enviar la propuesta.
Nadie recuerda tus diapositivas; recuerdan cómo les hiciste sentir.
Sustituimos {n} reuniones recurrentes por un resumen semanal por escrito y no se rompió nada.
La IA hizo el primer borrador en diez minutos; a mi equipo le llevó dos días que todo fuera
  correcto.
Tu carrera es una maratón, no un esprint, así que dosifica tus fuerzas.
Aprender en público incomoda, y justo por eso funciona.
La oferta pedía un "crack". El puesto necesitaba a alguien paciente.
Los clientes no compran funcionalidades, compran un lunes por la mañana mejor.
Antes pensaba que decir que no era de maleducados. Hoy creo que es lo más amable que puede hacer
  un manager.
El equipo de soporte nos dio más ideas de producto el último trimestre que cualquier encuesta.
Un ascenso no es un premio por lo que hiciste, es una apuesta por lo que harás.
Pasa un día con tus clientes y la mitad de tu roadmap se reescribirá sola.
Trabajar desde casa me hizo ver cuánto de mi día era postureo y no progreso.
Todas las buenas contrataciones que he hecho empezaron con una conversación, no con un currículum.
Si tu equipo tiene miedo de darte malas noticias, te enterarás siempre demasiado tarde.
Dimos a cada persona del equipo un presupuesto para libros y cursos, y la rotación bajó.
La prospección en frío funciona cuando habla de ellos, no de ti.
El lanzamiento fue lo fácil. Las {n} semanas de incidencias que vinieron después fueron la
  verdadera prueba.
Escribir buenos prompts es, en el fondo, escribir con claridad, algo que siempre ha tenido valor.
He cambiado de carrera tres veces y en todas me dijeron que ya era tarde.
Un mentor te cuenta lo que hizo; un sponsor dice tu nombre cuando no estás en la sala.
El burnout no es una medalla.
Los equipos pequeños van más rápido porque todos ven el problema completo.
Contratar despacio suena sensato hasta que eres tú quien espera la oferta.
== ctas
¿Qué añadirías a esta lista?
¿Estás de acuerdo? Te leo en los comentarios.
¿Te ha pasado algo parecido?
Comparte si crees que a tu red le vendría bien leerlo.
Me encantaría saber cómo lo gestionáis en vuestro equipo.
Déjame un comentario y te paso la plantilla.
== closings
Seguimos.
Agradecida de tener este equipo cada día.
Y ahora, de vuelta al trabajo.
Gracias por leer hasta aquí.
== lists
Esto es lo que aprendí:
Algunas cosas que de verdad nos funcionaron:
== thanks
Mil gracias a {mention} por animarme a compartir esto.
Un aplauso para {mention}, que hizo posible este lanzamiento.
== link
Os dejo el artículo completo aquí:
== extras
Nuestro stack (por si a alguien le interesa): Python | Go | C# [y algo de Rust].
Las entradas early bird tienen un 50% de descuento hasta el viernes, *sin* código.
Respondemos a cada candidato en <48 h y redujimos el onboarding de ~6 semanas a ~2.
== shouts
¡ESTAMOS CONTRATANDO!
NO ES BROMA.
== tags
#liderazgo #IA #InteligenciaArtificial #empleo #RRHH #ventas #teletrabajo #emprendimiento
#talento #desarrolloprofesional #innovación #leadership
"""

FR = """
== hooks
J'ai essuyé {n} refus avant de décrocher mon premier poste en produit.
Personne ne parle de cet aspect du management.
Cette semaine, on a lancé quelque chose d'énorme et je n'ai pas encore tout digéré.
Avis impopulaire : la plupart des réunions devraient être des e-mails.
{n} ans dans la vente m'ont appris une chose avant tout.
J'ai failli ne pas publier ce post.
Le recrutement est cassé. Voici ce qu'on a changé.
L'IA ne va pas prendre votre poste. Quelqu'un qui sait s'en servir, peut-être.
== body
Les meilleurs managers avec qui j'ai travaillé n'avaient pas toutes les réponses, ils posaient de
  meilleures questions.
On a reçu {n} candidats en entretien pour un seul poste, et la meilleure n'avait aucun diplôme.
Le télétravail n'a pas tué notre culture d'entreprise. Un onboarding raté a failli le faire.
On a repoussé le lancement de deux semaines, et c'était la meilleure décision de l'année.
Un retour est un cadeau, à condition de le faire dans les 48 heures.
Je bloque deux heures chaque matin pour le travail de fond, et je les protège comme un rendez-vous
  client.
La plupart des ventes sont perdues bien avant l'envoi de la proposition.
Personne ne se souvient de vos slides ; on se souvient de ce qu'on a ressenti dans la salle.
On a remplacé {n} réunions récurrentes par un point écrit hebdomadaire, et rien n'a cassé.
L'IA a rédigé la première version en dix minutes ; l'équipe a passé deux jours à la rendre juste.
Une carrière, c'est un marathon, pas un sprint : gérez votre souffle.
Apprendre en public met mal à l'aise, et c'est justement pour ça que ça marche.
L'annonce cherchait un « mouton à cinq pattes ». Le poste demandait surtout de la patience.
Les clients n'achètent pas des fonctionnalités, ils achètent un meilleur lundi matin.
Je pensais que dire non était impoli. Aujourd'hui, je pense que c'est le geste le plus
  bienveillant d'un manager.
Notre service client nous a apporté plus d'idées produit ce trimestre que n'importe quel sondage.
Une promotion n'est pas une récompense pour le travail passé, c'est un pari sur la suite.
Passez une journée avec vos clients et la moitié de votre roadmap se réécrira toute seule.
Le télétravail m'a fait réaliser à quel point mes journées relevaient de la présence plutôt que
  du progrès.
Toutes mes meilleures embauches ont commencé par une conversation, pas par un CV.
Si votre équipe a peur de vous annoncer une mauvaise nouvelle, vous l'apprendrez toujours trop
  tard.
On a donné à chacun un budget pour des livres et des formations, et le turnover a baissé.
La prospection à froid fonctionne quand elle parle d'eux, pas de vous.
Le lancement, c'était la partie facile. Les {n} semaines de tickets qui ont suivi, c'était le vrai
  test.
Bien rédiger un prompt, c'est simplement écrire clairement, une compétence qui a toujours eu de
  la valeur.
J'ai changé de métier trois fois, et à chaque fois on m'a dit qu'il était trop tard.
Un mentor vous raconte ce qu'il a fait ; un sponsor cite votre nom quand vous n'êtes pas dans la
  pièce.
Le burn-out n'est pas une médaille.
Les petites équipes livrent plus vite parce que chacun voit le problème dans son ensemble.
Recruter lentement paraît sage, jusqu'au jour où c'est vous qui attendez la réponse.
== ctas
Qu'est-ce que vous ajouteriez à cette liste ?
D'accord, pas d'accord ? Dites-le-moi en commentaire.
Vous avez vécu quelque chose de similaire ?
Partagez si vous pensez que votre réseau a besoin de lire ça.
Curieux de savoir comment ça se passe dans vos équipes.
Laissez un commentaire et je vous envoie le modèle.
== closings
On continue.
Fière de cette équipe, chaque jour.
Allez, retour au travail.
Merci d'avoir lu jusqu'ici.
== lists
Voici ce que j'en retiens :
Ce qui a vraiment marché pour nous :
== thanks
Un immense merci à {mention} de m'avoir poussé à partager ça.
Bravo à {mention}, sans qui ce lancement n'aurait pas eu lieu.
== link
L'article complet est ici :
== extras
Notre stack (pour les curieux) : Python | Go | C# [et un peu de Rust].
Les billets early bird sont à -50% jusqu'à vendredi, *sans* code promo.
On répond à chaque candidat en <48 h, et l'onboarding est passé de ~6 semaines à ~2.
== shouts
ON RECRUTE !
CE N'EST PAS UN EXERCICE.
== tags
#leadership #IA #IntelligenceArtificielle #recrutement #management #télétravail #emploi #RH
#carrière #innovation #entrepreneuriat #formation
"""

DE = """
== hooks
Ich wurde {n}-mal abgelehnt, bevor ich meinen ersten Job im Produktmanagement bekam.
Über diesen Teil von Führung spricht kaum jemand.
Diese Woche haben wir etwas Großes gelauncht, und ich muss das noch verarbeiten.
Unpopuläre Meinung: Die meisten Meetings könnten eine E-Mail sein.
{n} Jahre im Vertrieb haben mir vor allem eines beigebracht.
Fast hätte ich diesen Beitrag nicht veröffentlicht.
Recruiting ist kaputt. Das haben wir geändert.
KI nimmt dir nicht den Job weg. Jemand, der sie gut nutzt, vielleicht schon.
== body
Die besten Führungskräfte, mit denen ich gearbeitet habe, hatten nicht alle Antworten, aber sie
  stellten bessere Fragen.
Wir haben {n} Leute für eine einzige Stelle interviewt, und die stärkste Kandidatin hatte gar
  keinen Abschluss.
Remote-Arbeit hat unsere Kultur nicht zerstört. Schlechtes Onboarding hätte es fast geschafft.
Wir haben den Launch um zwei Wochen verschoben, und es war die beste Entscheidung des Jahres.
Feedback ist ein Geschenk, aber nur, wenn man es innerhalb von ein, zwei Tagen gibt.
Ich blocke mir jeden Morgen zwei Stunden für konzentriertes Arbeiten und verteidige sie wie einen
  Kundentermin.
Die meisten Deals gehen verloren, lange bevor das Angebot rausgeht.
An die Folien erinnert sich niemand, wohl aber daran, wie man sich im Raum gefühlt hat.
Wir haben {n} wiederkehrende Meetings durch ein wöchentliches schriftliches Update ersetzt, und
  nichts ist kaputtgegangen.
Die KI hat den ersten Entwurf in zehn Minuten geschrieben; mein Team brauchte zwei Tage, um ihn
  richtig zu machen.
Karriere ist ein Marathon, kein Sprint, also teil dir deine Kräfte ein.
Öffentlich zu lernen ist unangenehm, und genau deshalb funktioniert es.
In der Stellenanzeige stand „Rockstar“. Gebraucht wurde jemand mit Geduld.
Kunden kaufen keine Features, sie kaufen einen besseren Montagmorgen.
Früher fand ich Neinsagen unhöflich. Heute halte ich es für das Freundlichste, was eine
  Führungskraft tun kann.
Unser Support hat uns im letzten Quartal mehr Produktideen geliefert als jede Umfrage.
Eine Beförderung ist keine Belohnung für vergangene Arbeit, sondern eine Wette auf die Zukunft.
Verbring einen Tag bei deinen Kunden, und die Hälfte deiner Roadmap schreibt sich von selbst neu.
Im Homeoffice habe ich gemerkt, wie viel von meinem Tag Show war und nicht Fortschritt.
Jede gute Einstellung, die ich gemacht habe, begann mit einem Gespräch, nicht mit einem
  Lebenslauf.
Wenn dein Team Angst hat, dir schlechte Nachrichten zu überbringen, erfährst du sie immer zu spät.
Wir haben allen im Team ein Budget für Bücher und Weiterbildungen gegeben, und die Fluktuation
  ist gesunken.
Kaltakquise funktioniert, wenn es um die anderen geht und nicht um dich.
Der Launch war der einfache Teil. Die {n} Wochen Bugreports danach waren der echte Test.
Gute Prompts schreiben heißt im Grunde, klar zu schreiben, und das war schon immer wertvoll.
Ich habe dreimal den Beruf gewechselt, und jedes Mal hieß es, es sei zu spät.
Mentoren erzählen dir, was sie gemacht haben; Sponsoren nennen deinen Namen, wenn du nicht im Raum
  bist.
Burnout ist kein Ehrenabzeichen.
Kleine Teams liefern schneller, weil jede Person das ganze Problem sieht.
Langsam einstellen klingt klug, bis man selbst auf das Angebot wartet.
== ctas
Was würdest du ergänzen?
Zustimmung oder Widerspruch? Schreibt es in die Kommentare.
Habt ihr so etwas auch schon erlebt?
Teile den Beitrag, wenn dein Netzwerk das lesen sollte.
Mich interessiert, wie eure Teams damit umgehen.
Schreib einen Kommentar, und ich schicke dir die Vorlage.
== closings
Weiter geht's.
Dankbar für dieses Team, jeden einzelnen Tag.
Und jetzt zurück an die Arbeit.
Danke fürs Lesen bis hierhin.
== lists
Das habe ich daraus gelernt:
Ein paar Dinge, die bei uns wirklich funktioniert haben:
== thanks
Ein riesiges Dankeschön an {mention}, ohne den ich das nie geteilt hätte.
Großes Lob an {mention} für diesen Launch.
== link
Den ganzen Artikel findet ihr hier:
== extras
Unser Stack (für die Neugierigen): Python | Go | C# [und ein bisschen Rust].
Early-Bird-Tickets gibt es bis Freitag 50% günstiger, *ohne* Code.
Wir antworten allen Bewerbenden in <48 h und haben das Onboarding von ~6 auf ~2 Wochen verkürzt.
== shouts
WIR STELLEN EIN!
KEIN WITZ.
== tags
#Führung #KI #KünstlicheIntelligenz #Recruiting #NewWork #Homeoffice #Vertrieb #Karriere
#Weiterbildung #Digitalisierung #Innovation #leadership
"""

PT = """
== hooks
Fui rejeitado {n} vezes antes de conseguir minha primeira vaga em produto.
Ninguém fala sobre essa parte da liderança.
Essa semana lançamos algo grande e eu ainda estou processando.
Opinião impopular: a maioria das reuniões deveria ser um e-mail.
{n} anos em vendas me ensinaram uma coisa acima de tudo.
Quase não publiquei isso.
O recrutamento está quebrado. Veja o que mudamos.
A IA não vai roubar seu emprego. Alguém que sabe usá-la bem, talvez.
== body
Os melhores líderes com quem trabalhei não tinham todas as respostas, mas faziam perguntas
  melhores.
Entrevistamos {n} pessoas para uma única vaga, e a melhor candidata não tinha diploma.
O trabalho remoto não acabou com a nossa cultura. Um onboarding ruim quase acabou.
Adiamos o lançamento em duas semanas, e foi a melhor decisão do ano.
Feedback é um presente, mas só se for dado em um ou dois dias.
Bloqueio duas horas toda manhã para trabalho focado e protejo esse tempo como uma reunião com
  cliente.
A maioria das vendas é perdida muito antes de a proposta ser enviada.
Ninguém lembra dos slides; as pessoas lembram de como se sentiram na sala.
Trocamos {n} reuniões recorrentes por um resumo semanal por escrito, e nada quebrou.
A IA fez o primeiro rascunho em dez minutos; meu time levou dois dias para deixá-lo correto.
Carreira é maratona, não corrida de cem metros, então dose o seu ritmo.
Aprender em público é desconfortável, e é justamente por isso que funciona.
A vaga pedia um "ninja". O trabalho precisava de alguém paciente.
Clientes não compram funcionalidades, compram uma segunda-feira melhor.
Eu achava que dizer não era falta de educação. Hoje acho que é a coisa mais gentil que um gestor
  pode fazer.
Nosso time de suporte trouxe mais ideias de produto no último trimestre do que qualquer pesquisa.
Promoção não é prêmio pelo que você já fez, é uma aposta no que você vai fazer.
Passe um dia com seus clientes e metade do seu roadmap se reescreve sozinha.
Trabalhar de casa me fez perceber quanto do meu dia era encenação, e não progresso.
Todas as boas contratações que fiz começaram com uma conversa, não com um currículo.
Se o seu time tem medo de te dar más notícias, você sempre vai saber tarde demais.
Demos a cada pessoa do time um orçamento para livros e cursos, e o turnover caiu.
Prospecção fria funciona quando fala deles, não de você.
O lançamento foi a parte fácil. As {n} semanas de bugs que vieram depois foram o verdadeiro teste.
Escrever bons prompts é, no fundo, escrever com clareza, algo que sempre teve valor.
Mudei de carreira três vezes, e em todas me disseram que já era tarde.
Um mentor conta o que ele fez; um sponsor fala o seu nome quando você não está na sala.
Burnout não é medalha de honra.
Times pequenos entregam mais rápido porque todo mundo enxerga o problema inteiro.
Contratar devagar parece sensato, até você ser a pessoa esperando a proposta.
== ctas
O que você acrescentaria a essa lista?
Concorda ou discorda? Me conta nos comentários.
Você já passou por algo parecido?
Compartilhe se acha que a sua rede precisa ler isso.
Quero saber como o seu time lida com isso.
Comenta aqui que eu te mando o modelo.
== closings
Seguimos.
Grato por esse time, todos os dias.
Agora, de volta ao trabalho.
Obrigado por ler até aqui.
== lists
O que eu aprendi:
Algumas coisas que realmente funcionaram para nós:
== thanks
Um agradecimento enorme a {mention} por me incentivar a compartilhar isso.
Parabéns a {mention}, que fez esse lançamento acontecer.
== link
O artigo completo está aqui:
== extras
Nossa stack (para os curiosos): Python | Go | C# [e um pouco de Rust].
Os ingressos early bird estão com 50% de desconto até sexta, *sem* cupom.
Respondemos todo candidato em <48 h e reduzimos o onboarding de ~6 para ~2 semanas.
== shouts
ESTAMOS CONTRATANDO!
NÃO É BRINCADEIRA.
== tags
#liderança #IA #InteligênciaArtificial #carreira #RH #vendas #trabalhoremoto
#empreendedorismo #recrutamento #inovação #gestão #leadership
"""

IT = """
== hooks
Sono stato scartato {n} volte prima di ottenere il mio primo ruolo nel prodotto.
Di questo aspetto della leadership non parla quasi nessuno.
Questa settimana abbiamo lanciato qualcosa di grosso e lo sto ancora metabolizzando.
Opinione impopolare: la maggior parte delle riunioni potrebbe essere una mail.
{n} anni nelle vendite mi hanno insegnato una cosa sopra tutte.
Ho quasi deciso di non pubblicarlo.
Il recruiting è rotto. Ecco cosa abbiamo cambiato.
L'IA non ti ruberà il lavoro. Qualcuno che la usa bene, forse sì.
== body
I migliori leader con cui ho lavorato non avevano tutte le risposte, ma facevano domande migliori.
Abbiamo fatto colloqui a {n} persone per una sola posizione, e la candidata migliore non era
  laureata.
Lo smart working non ha ucciso la nostra cultura. Un onboarding fatto male ci è andato vicino.
Abbiamo rimandato il lancio di due settimane, ed è stata la decisione migliore dell'anno.
Il feedback è un regalo, ma solo se arriva entro un giorno o due.
Ogni mattina blocco due ore per il lavoro profondo e le difendo come un appuntamento con un
  cliente.
La maggior parte delle vendite si perde molto prima di inviare l'offerta.
Nessuno si ricorda delle slide; ci si ricorda di come ci si è sentiti nella stanza.
Abbiamo sostituito {n} riunioni ricorrenti con un aggiornamento scritto settimanale, e non si è
  rotto niente.
L'IA ha scritto la prima bozza in dieci minuti; al mio team sono serviti due giorni per renderla
  corretta.
La carriera è una maratona, non uno sprint: dosa le energie.
Imparare in pubblico mette a disagio, ed è proprio per questo che funziona.
L'annuncio cercava un "fuoriclasse". Il ruolo richiedeva soprattutto pazienza.
I clienti non comprano funzionalità, comprano un lunedì mattina migliore.
Pensavo che dire di no fosse scortese. Oggi credo sia la cosa più gentile che un manager possa
  fare.
Il nostro supporto clienti ci ha dato più idee di prodotto nell'ultimo trimestre di qualsiasi
  sondaggio.
Una promozione non è un premio per il lavoro passato, è una scommessa su quello futuro.
Passa una giornata con i tuoi clienti e metà della tua roadmap si riscriverà da sola.
Lavorare da casa mi ha fatto capire quanto della mia giornata fosse apparenza e non progresso.
Tutte le assunzioni migliori che ho fatto sono iniziate con una conversazione, non con un
  curriculum.
Se il tuo team ha paura di darti cattive notizie, le saprai sempre troppo tardi.
Abbiamo dato a ogni persona del team un budget per libri e corsi, e il turnover è sceso.
Il contatto a freddo funziona quando parla di loro, non di te.
Il lancio è stata la parte facile. Le {n} settimane di bug segnalati dopo sono state la vera
  prova.
Scrivere buoni prompt significa, in fondo, scrivere in modo chiaro, una capacità che ha sempre
  avuto valore.
Ho cambiato carriera tre volte, e ogni volta mi hanno detto che era troppo tardi.
Un mentor ti racconta cosa ha fatto; uno sponsor fa il tuo nome quando non sei nella stanza.
Il burnout non è una medaglia al valore.
I team piccoli rilasciano più in fretta perché tutti vedono il problema per intero.
Assumere con calma sembra saggio, finché non sei tu ad aspettare la proposta.
== ctas
Cosa aggiungeresti a questa lista?
Sei d'accordo? Fammelo sapere nei commenti.
Ti è mai capitato qualcosa di simile?
Condividi se pensi che la tua rete debba leggerlo.
Sono curioso di sapere come lo gestite nei vostri team.
Lascia un commento e ti mando il template.
== closings
Avanti così.
Grato per questo team, ogni singolo giorno.
E ora, di nuovo al lavoro.
Grazie per aver letto fin qui.
== lists
Ecco cosa ho imparato:
Alcune cose che per noi hanno funzionato davvero:
== thanks
Un enorme grazie a {mention} per avermi spinto a condividerlo.
Complimenti a {mention}, che ha reso possibile questo lancio.
== link
Trovate l'articolo completo qui:
== extras
Il nostro stack (per i curiosi): Python | Go | C# [e un po' di Rust].
I biglietti early bird sono scontati del 50% fino a venerdì, *senza* codice.
Rispondiamo a ogni candidato in <48 h e abbiamo ridotto l'onboarding da ~6 a ~2 settimane.
== shouts
STIAMO ASSUMENDO!
NON È UNO SCHERZO.
== tags
#leadership #IA #IntelligenzaArtificiale #lavoro #carriera #risorseumane #vendite
#smartworking #formazione #innovazione #startup #recruiting
"""

NL = """
== hooks
Ik werd {n} keer afgewezen voordat ik mijn eerste rol in product kreeg.
Over dit deel van leiderschap praat bijna niemand.
Deze week hebben we iets groots gelanceerd, en ik ben het nog steeds aan het verwerken.
Impopulaire mening: de meeste meetings hadden een mail kunnen zijn.
{n} jaar in sales heeft me vooral één ding geleerd.
Ik had dit bijna niet gepost.
Werving is stuk. Dit hebben we veranderd.
AI pakt je baan niet af. Iemand die er goed mee omgaat misschien wel.
== body
De beste leiders met wie ik heb gewerkt, hadden niet alle antwoorden, maar ze stelden betere
  vragen.
We spraken {n} kandidaten voor één vacature, en de sterkste had helemaal geen diploma.
Thuiswerken heeft onze cultuur niet kapotgemaakt. Slechte onboarding bijna wel.
We hebben de lancering twee weken uitgesteld, en dat was de beste beslissing van het jaar.
Feedback is een cadeau, maar alleen als je het binnen een dag of twee geeft.
Ik blok elke ochtend twee uur voor focuswerk en bescherm die als een klantafspraak.
De meeste deals gaan verloren lang voordat de offerte de deur uit gaat.
Niemand onthoudt je slides; mensen onthouden hoe ze zich voelden in de zaal.
We vervingen {n} terugkerende meetings door een wekelijkse schriftelijke update, en er ging niets
  mis.
AI schreef de eerste versie in tien minuten; mijn team deed er twee dagen over om hem te laten
  kloppen.
Je carrière is een marathon, geen sprint, dus verdeel je krachten.
In het openbaar leren voelt ongemakkelijk, en precies daarom werkt het.
In de vacature stond "rockstar". De functie vroeg vooral om geduld.
Klanten kopen geen features, ze kopen een betere maandagochtend.
Vroeger vond ik nee zeggen onbeleefd. Nu denk ik dat het het vriendelijkste is wat een manager
  kan doen.
Ons supportteam leverde vorig kwartaal meer productinzichten op dan welke enquête ook.
Een promotie is geen beloning voor eerder werk, maar een gok op wat je nog gaat doen.
Loop een dag mee met je klanten en de helft van je roadmap herschrijft zichzelf.
Door thuis te werken besefte ik hoeveel van mijn dag toneel was in plaats van vooruitgang.
Elke goede collega die ik heb aangenomen, begon met een gesprek en niet met een cv.
Als je team bang is om slecht nieuws te brengen, hoor je het altijd te laat.
We gaven iedereen in het team een budget voor boeken en cursussen, en het verloop daalde.
Koude acquisitie werkt als het over hen gaat, niet over jou.
De lancering was het makkelijke deel. De {n} weken bugmeldingen daarna waren de echte test.
Goed prompten is eigenlijk gewoon helder schrijven, en dat is altijd waardevol geweest.
Ik ben drie keer van loopbaan gewisseld, en elke keer kreeg ik te horen dat het te laat was.
Een mentor vertelt wat hij zelf deed; een sponsor noemt jouw naam als jij niet in de kamer bent.
Een burn-out is geen erekruis.
Kleine teams leveren sneller, omdat iedereen het hele probleem ziet.
Langzaam aannemen klinkt verstandig, tot jij degene bent die op het aanbod wacht.
== ctas
Wat zou jij aan dit lijstje toevoegen?
Eens of oneens? Laat het weten in de reacties.
Herken je dit?
Deel dit als je denkt dat je netwerk het moet lezen.
Benieuwd hoe jullie team hiermee omgaat.
Laat een reactie achter, dan stuur ik je de template.
== closings
Op naar de volgende.
Dankbaar voor dit team, elke dag weer.
En nu weer aan het werk.
Bedankt voor het lezen.
== lists
Dit heb ik geleerd:
Een paar dingen die bij ons echt werkten:
== thanks
Enorm bedankt, {mention}, dat je me hebt aangespoord om dit te delen.
Een pluim voor {mention}, die deze lancering mogelijk heeft gemaakt.
== link
Het volledige artikel lees je hier:
== extras
Onze stack (voor wie het wil weten): Python | Go | C# [en een beetje Rust].
Early-birdtickets zijn tot vrijdag 50% goedkoper, *zonder* code.
We reageren op elke sollicitant binnen <48 uur en brachten de onboarding terug van ~6 naar ~2
  weken.
== shouts
WE ZOEKEN COLLEGA'S!
DIT IS GEEN GRAP.
== tags
#leiderschap #AI #KunstmatigeIntelligentie #werving #carrière #thuiswerken #sales #HR
#ondernemen #innovatie #leren #leadership
"""

BANKS = {
    language: parse_bank(source)
    for language, source in zip(LANGUAGES, (EN, ES, FR, DE, PT, IT, NL), strict=True)
}


def graphemes(text: str) -> int:
    return len(GRAPHEME.findall(text))


def ends_sentence(clusters: list[str], i: int) -> bool:
    """Whether a sentence or line ends right before clusters[i]: at the end of a line not
    introducing a list, or at a space after punctuation or after an emoji ending a sentence."""
    before = clusters[i - 1]
    if clusters[i] == "\n":
        return before != ":"
    if clusters[i] != " ":
        return False
    return before in PUNCTUATION_END or (
        i >= 3 and clusters[i - 2] == " " and EMOJI.match(before) is not None
    )


def clip(text: str, limit: int, keep: int = 0) -> tuple[str, int]:
    """`text` in at most `limit` graphemes (if cut, at least about `keep`), and its length. Cut
    after a sentence or line that ends near the limit, else after a word (adding "…"), else
    between two graphemes; never inside one."""
    clusters = GRAPHEME.findall(text)
    if len(clusters) <= limit:
        return text, len(clusters)
    if limit < 2:
        return "", 0
    floor, cut, ellipsis = max(limit * 2 // 3, limit - 160, keep), limit - 1, True
    for i in range(limit, floor, -1):
        if ends_sentence(clusters, i):
            cut, ellipsis = i, False
            break
    else:
        for i in range(limit - 1, max(floor, limit - 30), -1):
            if clusters[i].isspace():
                cut = i
                break
    while cut and (clusters[cut - 1].isspace() or (ellipsis and clusters[cut - 1] in ",;:-")):
        cut -= 1
    return "".join(clusters[:cut]) + ("…" if ellipsis else ""), cut + ellipsis


def compose(rng: random.Random, language: str, target: int) -> tuple[str, int]:
    """A post in `language` of at most `target` graphemes (about that many), and its length."""
    bank = BANKS[language]
    decorated = rng.random() < 0.7  # some authors never use emojis
    layout = rng.choices(("paragraphs", "lines", "wall"), weights=(5, 3, 2))[0]
    deck: list[str] = []

    def fill(line: str) -> str:
        return line.replace("{n}", str(rng.randint(2, 30)))

    def emoji() -> str:
        roll = rng.random()
        if roll < 0.15:
            return rng.choice(FLAGS[language])
        return rng.choice(PEOPLE if roll < 0.45 else EMOJIS)

    def decorate(line: str, chance: float = 1.0) -> str:
        return f"{line} {emoji()}" if decorated and rng.random() < chance else line

    def sentence() -> str:
        if not deck:  # every body sentence once before any twice
            deck.extend(rng.sample(bank.body, len(bank.body)))
        return decorate(fill(deck.pop()), 0.2)

    def bullet_list(budget: int) -> str:
        """An intro and 2 to 6 items, at most `budget` code points, or "" if none fit."""
        intro, items, size = rng.choice(bank.lists), [], 0
        for _ in range(rng.randint(3, 6)):
            items.append(sentence())
            size += len(items[-1]) + 3
            if len(intro) + size > budget:
                items.pop()
                break
        if len(items) < 2:
            return ""
        if decorated and rng.random() < 0.25:
            marks = KEYCAPS[: len(items)]
        else:
            marks = (rng.choice(BULLETS if decorated else BULLETS[:2]),) * len(items)
        lines = [f"{mark} {item}" for mark, item in zip(marks, items, strict=True)]
        return "\n".join([intro, *lines])

    hook = fill(rng.choice(bank.hooks))
    if rng.random() < 0.08:
        hook = hook.upper()
    if decorated and rng.random() < 0.5:
        hook = f"{emoji()} {hook}" if rng.random() < 0.5 else f"{hook} {emoji()}"

    tail: list[str] = []
    if rng.random() < 0.12:
        urn = "".join(rng.choices(URN_CHARS, k=rng.randint(6, 12)))
        mention = f"@[{rng.choice(NAMES)}](urn:li:person:{urn})"
        tail.append(rng.choice(bank.thanks).replace("{mention}", mention))
    if rng.random() < 0.55:
        tail.append(rng.choice(bank.ctas))
    if rng.random() < 0.2:
        url = f"https://example.com/{rng.choice(LINK_PATHS)}/{rng.choice(LINK_SLUGS)}"
        if rng.random() < 0.3:
            url += "?utm_source=linkedin&utm_medium=social"
        tail.append(f"{'👉 ' if decorated else ''}{rng.choice(bank.link)} {url}")
    if rng.random() < 0.3:
        tail.append(decorate(rng.choice(bank.closings)))
    tags = rng.sample(bank.tags, rng.choices((0, 1, 2, 3, 8), weights=(3, 2, 2, 1, 2))[0])
    if rng.random() < 0.05:
        tags += rng.sample(BAIT, rng.randint(1, 3))
    if tags:
        tail.append(" ".join(tags))

    specials: list[str] = []  # each somewhere in the body, unless it is cut off
    if rng.random() < 0.12:
        specials.append(fill(rng.choice(bank.extras)))
    if rng.random() < 0.04:
        specials.append(rng.choice(NEUTRAL))
    if rng.random() < 0.08:
        specials.append(decorate(rng.choice(bank.shouts)))
    if layout != "wall" and rng.random() < 0.35:
        room = target - len(hook) - sum(len(block) + 2 for block in tail + specials)
        specials += filter(None, [bullet_list(room * 4 // 5)])

    # Code points, at least the graphemes: sentences up to past the target, clipped below.
    size = len(hook) + sum(len(block) + 2 for block in tail + specials)
    blocks: list[str] = []
    per_block = (1, 1) if layout == "lines" else (1, 4)
    while size < target + 100:
        blocks.append(" ".join(sentence() for _ in range(rng.randint(*per_block))))
        size += len(blocks[-1]) + 2
    for special in specials:
        blocks.insert(rng.randint(0, len(blocks)), special)

    # Newlines and spaces always separate graphemes, so the parts' lengths add up.
    sep = {"paragraphs": "\n\n", "lines": "\n", "wall": " "}[layout]
    outer = " " if layout == "wall" else "\n\n"
    hook_n, tail_text = graphemes(hook), outer.join(tail)
    tail_n = graphemes(tail_text)
    room = target - hook_n - tail_n - 2 * len(outer)
    if room < 40:  # a short post: the hook and what fits of the body, no tail
        tail_text, tail_n, room = "", 0, target - hook_n - len(outer)
    if room <= 0:
        return clip(hook, target, MIN_GRAPHEMES)
    body, body_n = clip(sep.join(blocks), room, MIN_GRAPHEMES - (target - room))
    parts = [(part, n) for part, n in ((hook, hook_n), (body, body_n), (tail_text, tail_n)) if n]
    text = outer.join(part for part, _ in parts)
    return text, sum(n for _, n in parts) + len(outer) * (len(parts) - 1)


def posts(count: int = 1000, *, seed: int = 2026) -> list[Post]:
    """`count` unique posts, the same for the same seed (the first n of them for any count >= n)."""
    if count < 0:
        raise ValueError("count must be >= 0")
    rng = random.Random(seed)
    out: list[Post] = []
    seen: set[str] = set()
    while len(out) < count:
        language = rng.choices(LANGUAGES, weights=LANGUAGE_WEIGHTS)[0]
        target = rng.randint(MIN_GRAPHEMES, MAX_GRAPHEMES)
        for _ in range(10):  # then another language and length
            text, length = compose(rng, language, target)
            if text not in seen and MIN_GRAPHEMES <= length <= MAX_GRAPHEMES:
                seen.add(text)
                out.append(Post(language, text))
                break
    return out


def stats(corpus: list[Post], seconds: float) -> list[str]:
    """Lines describing `corpus`; raises AssertionError if a promise of posts() is broken."""
    lengths = [graphemes(post.text) for post in corpus]
    languages = Counter(post.language for post in corpus)
    assert len({post.text for post in corpus}) == len(corpus), "duplicate texts"
    assert all(MIN_GRAPHEMES <= n <= MAX_GRAPHEMES for n in lengths), "length out of range"
    assert all(post.text.strip() for post in corpus), "blank post"

    def share(test: Callable[[str], object]) -> str:
        return f"{sum(1 for post in corpus if test(post.text)) / len(corpus):6.1%}"

    lines = [f"{len(corpus)} posts, all unique, generated in {seconds:.2f} s", ""]
    lines += [f"  {lang}  {languages[lang]:5d}" for lang in LANGUAGES if languages[lang]]
    lines += [
        "",
        f"graphemes: min {min(lengths)}, median {statistics.median(lengths):g}, "
        f"max {max(lengths)}, mean {statistics.fmean(lengths):.0f}",
        f"with hashtags   {share(HASHTAG.search)}",
        f"with links      {share(lambda text: 'https://' in text)}",
        f"with emojis     {share(EMOJI.search)}",
        f"with mentions   {share(lambda text: '(urn:li:person:' in text)}",
        f"with ALL CAPS   {share(CAPS_LINE.search)}",
        f"no blank lines  {share(lambda text: chr(10) * 2 not in text)}",
        f"with bullets    {share(BULLET_LINE.search)}",
        f"with C#/50%     {share(lambda text: 'C#' in text or '50%' in text)}",
    ]
    return lines


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000, help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=2026, help="(default: %(default)s)")
    parser.add_argument("--out", type=Path, help="JSON lines file (default: stdout)")
    parser.add_argument(
        "--stats", action="store_true", help="print statistics (and no posts unless --out)"
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    return args


def main() -> None:
    args = parse_args(sys.argv[1:])
    start = time.perf_counter()
    corpus = posts(args.count, seed=args.seed)
    seconds = time.perf_counter() - start
    lines = (json.dumps(asdict(post), ensure_ascii=False) + "\n" for post in corpus)
    if args.out:
        with args.out.open("w", encoding="utf-8") as out:
            out.writelines(lines)
    elif not args.stats:
        sys.stdout.writelines(lines)
    if args.stats:
        print("\n".join(stats(corpus, seconds)))


if __name__ == "__main__":
    main()
