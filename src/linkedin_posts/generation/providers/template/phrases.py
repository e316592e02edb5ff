"""The template provider's phrase banks, per language and (where it shows) per tone.

`{topic}` is the post's subject as it reads inside a sentence, `{Topic}` as it starts one. A
phrase without either is used when a brief has no usable topic. Changing a phrase changes the
output: bump `VERSION` with it.
"""

from collections.abc import Mapping

from linkedin_posts.generation.providers.base import Tone

# Part of the cache key (the provider's fingerprint): bump it whenever a phrase, a rule or the
# composition changes, so no cache serves a text the current version would not write.
VERSION = "1"
# The languages the banks are written in: the ones the provider writes.
LANGUAGES = frozenset({"en", "es"})

ToneBank = Mapping[str, Mapping[Tone, tuple[str, ...]]]
Bank = Mapping[str, tuple[str, ...]]

PRO, FRI, INS, EDU, BOLD = (
    Tone.PROFESSIONAL,
    Tone.FRIENDLY,
    Tone.INSPIRATIONAL,
    Tone.EDUCATIONAL,
    Tone.BOLD,
)

# The first line: short enough, with any topic the provider puts in it, for the mobile fold.
HOOKS: ToneBank = {
    "en": {
        PRO: (
            "{Topic}: what I have learned so far.",
            "A practical look at {topic}.",
            "A few things I keep noticing about {topic}.",
            "Most discussions about {topic} skip the part that matters.",
            "What actually moves the needle on {topic}?",
            "{Topic}: worth a closer look. Here is mine.",
        ),
        FRI: (
            "Let's talk about {topic} for a minute.",
            "Quick one today: {topic}.",
            "I have been thinking a lot about {topic} lately.",
            "Grab a coffee, this one is about {topic}.",
            "A small confession: {topic} took me a while to get right.",
            "Here is something I wish someone had told me about {topic}.",
        ),
        INS: (
            "Every big change starts small. So does {topic}.",
            "With {topic}, there is no finish line. Only practice.",
            "The best time to start with {topic} was last year. The next best is today.",
            "What if we are overcomplicating {topic}?",
            "Progress on {topic} rarely looks impressive up close.",
            "{Topic} taught me more about patience than anything else.",
        ),
        EDU: (
            "{Topic}, explained in a few minutes.",
            "{Topic}, step by step.",
            "New to {topic}? Start here.",
            "{Topic}: a short guide with the essentials.",
            "Five minutes, one subject: {topic}.",
            "The basics of {topic} that nobody writes down.",
        ),
        BOLD: (
            "Unpopular opinion: most advice about {topic} is wrong.",
            "Stop overthinking {topic}.",
            "{Topic}: no longer optional.",
            "Hard truth: nobody is coming to fix {topic} for you.",
            "Everyone talks about {topic}. Few do the work.",
            "Let's be honest about {topic}.",
        ),
    },
    "es": {
        PRO: (
            "{Topic}: lo que he aprendido hasta ahora.",
            "Una mirada práctica a {topic}.",
            "Algunas cosas que sigo viendo sobre {topic}.",
            "Casi todas las conversaciones sobre {topic} se saltan lo importante.",
            "¿Qué marca de verdad la diferencia en {topic}?",
            "{Topic}: una mirada más atenta, la mía.",
        ),
        FRI: (
            "Hablemos un momento de {topic}.",
            "Una rápida de hoy: {topic}.",
            "Últimamente le doy muchas vueltas a {topic}.",
            "Prepárate un café, hoy toca {topic}.",
            "Una confesión: me costó tiempo entender {topic}.",
            "Esto es lo que me habría gustado saber sobre {topic}.",
        ),
        INS: (
            "Todo gran cambio empieza pequeño. También {topic}.",
            "Con {topic} no hay meta final. Solo práctica.",
            "El mejor momento para empezar con {topic} fue el año pasado. El siguiente es hoy.",
            "¿Y si estamos complicando {topic} más de la cuenta?",
            "El progreso en {topic} casi nunca parece impresionante de cerca.",
            "Nada me ha enseñado tanto sobre la paciencia como {topic}.",
        ),
        EDU: (
            "{Topic}, explicado en pocos minutos.",
            "{Topic}, paso a paso.",
            "¿Empiezas con {topic}? Empieza aquí.",
            "{Topic}: una guía breve con lo esencial.",
            "Cinco minutos, un tema: {topic}.",
            "Lo básico de {topic} que nadie pone por escrito.",
        ),
        BOLD: (
            "Opinión impopular: casi todos los consejos sobre {topic} están mal.",
            "Deja de darle tantas vueltas a {topic}.",
            "{Topic}: ya no es opcional.",
            "Verdad incómoda: nadie va a arreglar {topic} por ti.",
            "Todo el mundo habla de {topic}. Pocos hacen el trabajo.",
            "Seamos sinceros sobre {topic}.",
        ),
    },
}

# Hooks for a topic that is a headline (a sentence, a "how to"): it opens the post as written.
HEADLINE_HOOKS: Bank = {
    "en": (
        "{Topic}.",
        "{Topic}: a few lessons.",
        "{Topic}. Here is what I have seen.",
        "{Topic}, in a few lines.",
        "{Topic}. Let me explain.",
        "{Topic}: my take.",
    ),
    "es": (
        "{Topic}.",
        "{Topic}: algunas lecciones.",
        "{Topic}. Esto es lo que he visto.",
        "{Topic}, en pocas líneas.",
        "{Topic}. Te lo explico.",
        "{Topic}: mi opinión.",
    ),
}

# Hooks for a topic that is a question, written as it is.
QUESTION_HOOKS: Bank = {
    "en": (
        "{Topic}",
        "{Topic} Here is my answer.",
        "{Topic} Let's look at it.",
        "{Topic} I have an opinion.",
        "{Topic} Short answer below.",
    ),
    "es": (
        "{Topic}",
        "{Topic} Esta es mi respuesta.",
        "{Topic} Vamos a verlo.",
        "{Topic} Tengo una opinión.",
        "{Topic} La respuesta corta, abajo.",
    ),
}

# Hooks for a brief (or a draft) with no subject to name.
PLAIN_HOOKS: ToneBank = {
    "en": {
        PRO: ("Some lessons from the last few years.", "A few lessons worth sharing."),
        FRI: (
            "A quick thought I wanted to share with you.",
            "Something I wish I had known earlier.",
        ),
        INS: ("Every big change starts with one small step.", "Progress rarely looks impressive."),
        EDU: ("A short guide with the essentials.", "The basics, explained in a few minutes."),
        BOLD: ("Unpopular opinion incoming.", "Let's be honest for a minute."),
    },
    "es": {
        PRO: (
            "Algunas lecciones de los últimos años.",
            "Algunas lecciones que vale la pena contar.",
        ),
        FRI: (
            "Una idea rápida que quería compartir contigo.",
            "Algo que me habría gustado saber antes.",
        ),
        INS: (
            "Todo gran cambio empieza con un pequeño paso.",
            "El progreso casi nunca parece enorme.",
        ),
        EDU: ("Una guía breve con lo esencial.", "Lo básico, explicado en pocos minutos."),
        BOLD: ("Se viene una opinión impopular.", "Seamos sinceros un momento."),
    },
}

# The paragraph after the hook.
OPENERS: ToneBank = {
    "en": {
        PRO: (
            "I have seen several teams work on {topic}, and the same patterns keep showing up.",
            "There is a lot of noise around {topic}. Here is the signal, as I see it.",
            "After a few projects on {topic}, some lessons stand out.",
            "Here is what I have learned, without the buzzwords.",
        ),
        FRI: (
            "I promised myself I would write this down, so here it is.",
            "This came up in a conversation last week and I could not stop thinking about it.",
            "No theory today, just what has worked for me.",
        ),
        INS: (
            "Nobody gets this right on the first try. What matters is that you keep going.",
            "I used to think this needed a big plan. It needed a first step.",
            "Looking back, the small decisions made the biggest difference.",
        ),
        EDU: (
            "Here is the short version, with the parts that matter most.",
            "Let's break it down into pieces you can use today.",
            "If you only remember one thing, remember the structure below.",
        ),
        BOLD: (
            "Most people make this harder than it is. I did too.",
            "I will skip the polite introduction and get to the point.",
            "This is not what you usually hear, and that is the point.",
        ),
    },
    "es": {
        PRO: (
            "He visto a varios equipos trabajar en {topic}, y siempre aparecen los mismos "
            "patrones.",
            "Hay mucho ruido alrededor de {topic}. Esta es la señal, tal como yo la veo.",
            "Después de varios proyectos sobre {topic}, algunas lecciones destacan.",
            "Esto es lo que he aprendido, sin palabras de moda.",
        ),
        FRI: (
            "Me prometí que lo escribiría, así que aquí va.",
            "Salió en una conversación la semana pasada y no he dejado de pensar en ello.",
            "Hoy nada de teoría, solo lo que me ha funcionado.",
        ),
        INS: (
            "Nadie lo hace bien a la primera. Lo importante es seguir.",
            "Antes pensaba que esto necesitaba un gran plan. Necesitaba un primer paso.",
            "Mirando atrás, las decisiones pequeñas fueron las que más cambiaron las cosas.",
        ),
        EDU: (
            "Esta es la versión corta, con lo que más importa.",
            "Vamos a dividirlo en piezas que puedes usar hoy mismo.",
            "Si solo recuerdas una cosa, que sea la estructura de abajo.",
        ),
        BOLD: (
            "Casi todo el mundo lo complica más de lo necesario. Yo también lo hice.",
            "Me salto la introducción educada y voy al grano.",
            "Esto no es lo que sueles oír, y de eso se trata.",
        ),
    },
}

# Addressing the brief's audience, at the start of the opening paragraph.
AUDIENCE: Bank = {
    "en": (
        "This one is for {audience}.",
        "Written with {audience} in mind.",
        "A note for {audience}.",
    ),
    "es": (
        "Esto va para {audience}.",
        "Lo escribo pensando en {audience}.",
        "Un apunte para {audience}.",
    ),
}

# The line before the key points.
LEADS: Bank = {
    "en": (
        "Here is what matters most:",
        "What I would focus on:",
        "A few points worth keeping:",
        "The short list:",
    ),
    "es": (
        "Esto es lo que más importa:",
        "En lo que me centraría:",
        "Algunos puntos que vale la pena guardar:",
        "La lista corta:",
    ),
}

# Body paragraphs for a brief with few or no key points, in the order a reader would expect
# them (why, what goes wrong, what works, how to start, habits).
FILLERS: Bank = {
    "en": (
        "Why it matters: small habits around {topic} compound. A little attention every week "
        "beats a big push once a year.",
        "What usually goes wrong: we start with tools instead of goals. Decide what good looks "
        "like first, then pick the tools.",
        "What works: one owner, one clear goal, and a short check-in every week. Simple, and "
        "easy to skip.",
        "Where to start: pick the smallest version you can finish this week. Finishing teaches "
        "more than planning.",
        "A common mistake is trying to fix everything at once. Choose one problem, solve it, "
        "then move to the next.",
        "Measure something, even if it is rough. Without a number, every opinion sounds equally "
        "convincing.",
        "Ask the people closest to the work. They usually know what is broken and how to fix it.",
        "Write down what you decide and why. Six months from now, you will be glad you did.",
        "Expect the first attempt to be imperfect. The second one is where most of the learning "
        "shows up.",
        "Share what you learn along the way. Someone else is stuck on the exact problem you just "
        "solved.",
        "Make the goal visible. A number on a shared page gets more attention than a slide deck "
        "nobody opens.",
        "Protect time for it. If it only happens when the calendar is empty, it will not happen.",
        "Celebrate the small wins out loud. People repeat what gets noticed.",
        "Every few weeks, look back: keep what worked, drop what did not, and try one new thing.",
    ),
    "es": (
        "Por qué importa: los pequeños hábitos alrededor de {topic} se acumulan. Un poco de "
        "atención cada semana vale más que un gran esfuerzo una vez al año.",
        "Lo que suele fallar: empezamos por las herramientas en lugar de por los objetivos. "
        "Decide primero qué significa hacerlo bien y luego elige las herramientas.",
        "Lo que funciona: una persona responsable, un objetivo claro y una revisión corta cada "
        "semana. Sencillo, y fácil de saltarse.",
        "Por dónde empezar: elige la versión más pequeña que puedas terminar esta semana. "
        "Terminar enseña más que planificar.",
        "Un error habitual es intentar arreglarlo todo a la vez. Elige un problema, resuélvelo "
        "y pasa al siguiente.",
        "Mide algo, aunque sea de forma aproximada. Sin un número, todas las opiniones suenan "
        "igual de convincentes.",
        "Pregunta a quienes están más cerca del trabajo. Normalmente saben qué está roto y cómo "
        "arreglarlo.",
        "Escribe lo que decides y por qué. Dentro de seis meses te alegrarás de haberlo hecho.",
        "Cuenta con que el primer intento sea imperfecto. En el segundo es donde aparece casi "
        "todo el aprendizaje.",
        "Comparte lo que aprendes por el camino. Alguien está atascado justo en el problema que "
        "acabas de resolver.",
        "Haz visible el objetivo. Un número en una página compartida recibe más atención que una "
        "presentación que nadie abre.",
        "Resérvale tiempo. Si solo ocurre cuando la agenda está vacía, no va a ocurrir.",
        "Celebra en voz alta los pequeños avances. La gente repite lo que se reconoce.",
        "Cada pocas semanas, mira atrás: quédate con lo que funcionó, deja lo que no y prueba una "
        "cosa nueva.",
    ),
}

# The takeaway before the call to action.
CLOSERS: ToneBank = {
    "en": {
        PRO: (
            "None of this is complicated. It takes consistency, and a willingness to measure "
            "what happens.",
            "The teams that do this well are not smarter. They are more deliberate.",
            "Start small, measure, adjust. That is most of it.",
        ),
        FRI: (
            "That's it from me. Small steps, every week, and it adds up.",
            "I am still learning here, and that is part of the fun.",
            "If it helps one person, this post did its job.",
        ),
        INS: (
            "You do not need to have it all figured out. You need to start.",
            "Small steps, taken often, go further than big plans.",
            "The work you do today is the story you tell next year.",
        ),
        EDU: (
            "Save this for later and come back to it when you need it.",
            "Try one of these this week and notice what changes.",
            "Master the basics first; the advanced tricks come easier after.",
        ),
        BOLD: (
            "Stop waiting for the perfect moment. It is not coming.",
            "Results come from doing the work, not from talking about it.",
            "Pick one thing and do it properly. Everything else is noise.",
        ),
    },
    "es": {
        PRO: (
            "Nada de esto es complicado. Requiere constancia y ganas de medir lo que pasa.",
            "Los equipos que lo hacen bien no son más listos. Son más deliberados.",
            "Empieza en pequeño, mide y ajusta. Eso es casi todo.",
        ),
        FRI: (
            "Eso es todo por mi parte. Pasos pequeños, cada semana, y se nota.",
            "Sigo aprendiendo sobre esto, y eso también tiene su gracia.",
            "Si esto le sirve a una sola persona, ya ha cumplido su función.",
        ),
        INS: (
            "No necesitas tenerlo todo resuelto. Necesitas empezar.",
            "Los pasos pequeños, dados a menudo, llegan más lejos que los grandes planes.",
            "Lo que haces hoy es la historia que contarás el año que viene.",
        ),
        EDU: (
            "Guárdalo para más tarde y vuelve cuando lo necesites.",
            "Prueba uno de estos puntos esta semana y fíjate en qué cambia.",
            "Domina primero lo básico; lo avanzado llega más fácil después.",
        ),
        BOLD: (
            "Deja de esperar el momento perfecto. No va a llegar.",
            "Los resultados vienen de hacer el trabajo, no de hablar de él.",
            "Elige una cosa y hazla bien. Todo lo demás es ruido.",
        ),
    },
}

# The call to action when the brief brings none: a question in the brief's tone.
QUESTIONS: ToneBank = {
    "en": {
        PRO: (
            "What has worked for your team when it comes to {topic}?",
            "How does your organization approach this? I would like to compare notes.",
            "Which of these matches your experience, and what would you add?",
            "What would you add to this list?",
        ),
        FRI: (
            "What about you? Tell me in the comments.",
            "Have you tried any of this? I would love to hear how it went.",
            "What is your take on {topic}?",
            "Did I miss something? Let me know below.",
        ),
        INS: (
            "What is one small step you could take this week?",
            "What is the best lesson {topic} has taught you?",
            "What would you tell yourself a year ago?",
            "Who helped you get started with this?",
        ),
        EDU: (
            "Which of these points would you like me to go deeper on?",
            "What is the one question about {topic} you still have?",
            "What would you add for someone just starting out?",
            "Which step do you find the hardest?",
        ),
        BOLD: (
            "Agree or disagree? Make your case in the comments.",
            "Am I wrong? Tell me why.",
            "What is the hardest truth about {topic} in your field?",
            "Are you doing the work, or just talking about it?",
        ),
    },
    "es": {
        PRO: (
            "¿Qué le ha funcionado a tu equipo con {topic}?",
            "¿Cómo lo aborda tu organización? Me interesa comparar experiencias.",
            "¿Cuál de estos puntos coincide con tu experiencia y qué añadirías?",
            "¿Qué añadirías a esta lista?",
        ),
        FRI: (
            "¿Y tú qué opinas? Cuéntamelo en los comentarios.",
            "¿Has probado algo de esto? Me encantaría saber cómo te fue.",
            "¿Cuál es tu experiencia con {topic}?",
            "¿Me he dejado algo? Déjalo en los comentarios.",
        ),
        INS: (
            "¿Qué pequeño paso podrías dar esta semana?",
            "¿Cuál es la mejor lección que te ha dejado {topic}?",
            "¿Qué le dirías a tu yo de hace un año?",
            "¿Quién te ayudó a empezar con esto?",
        ),
        EDU: (
            "¿En cuál de estos puntos quieres que profundice?",
            "¿Qué duda te queda sobre {topic}?",
            "¿Qué añadirías para alguien que está empezando?",
            "¿Qué paso te resulta más difícil?",
        ),
        BOLD: (
            "¿De acuerdo o no? Defiende tu postura en los comentarios.",
            "¿Me equivoco? Dime por qué.",
            "¿Cuál es la verdad más incómoda sobre {topic} en tu sector?",
            "¿Estás haciendo el trabajo o solo hablando de él?",
        ),
    },
}

# The first words of a topic that is a question or a headline rather than a subject.
HEADLINE_STARTS: Bank = {
    "en": (
        "how", "why", "what", "when", "where", "who", "which", "is", "are", "do", "does", "can",
        "should", "will", "would", "we", "i", "my", "our",
    ),
    "es": (
        "cómo", "por qué", "qué", "cuándo", "dónde", "quién", "quiénes", "cuál", "cuáles",
        "cuánto", "es", "son", "puedo", "debes", "mi", "nuestro", "nuestra",
    ),
}  # fmt: skip

# Words too common to make a hashtag of, even as the last resort: a topic's own words that
# are not stop words come first, then any of its words but these.
FUNCTION_WORDS: Mapping[str, frozenset[str]] = {
    "en": frozenset({
        "that", "this", "these", "those", "with", "from", "into", "onto", "about", "what",
        "when", "where", "which", "while", "would", "should", "could", "their", "there",
        "they", "them", "your", "have", "been", "were", "will", "than", "then", "does",
        "doing", "just", "more", "most", "some", "such", "very", "also", "only", "over",
        "after", "before", "because", "without", "within", "between", "every", "here",
        "being",
    }),
    "es": frozenset({
        "para", "como", "cómo", "pero", "porque", "sobre", "entre", "desde", "hasta",
        "este", "esta", "estos", "estas", "esos", "esas", "nuestro", "nuestra", "nuestros",
        "nuestras", "cuando", "donde", "después", "antes", "menos", "todo", "toda", "todos",
        "todas", "cada", "otro", "otra", "otros", "otras", "también", "aquí", "tiene",
        "tienen", "estar", "hacer", "muchos", "muchas", "mucho", "mucha", "porqué",
    }),
}  # fmt: skip

# Words that suggest a draft's tone, for a rewrite that must keep it (lower case; a match
# counts once per occurrence). No match: professional.
TONE_CUES: Mapping[Tone, tuple[str, ...]] = {
    FRI: (
        "coffee", "honestly", "fun", "love", "friends", "let's", "café", "sinceramente",
        "divertido", "me encanta", "amigos", "hablemos",
    ),
    INS: (
        "dream", "believe", "journey", "inspire", "grow", "never give up", "purpose", "sueño",
        "creer", "camino", "inspira", "crecer", "propósito", "nunca te rindas",
    ),
    EDU: (
        "how to", "step", "guide", "tip", "learn", "explained", "basics", "cómo", "paso",
        "guía", "consejo", "aprende", "explicado", "básico",
    ),
    BOLD: (
        "unpopular", "stop", "hard truth", "wrong", "nobody", "never", "honest", "impopular",
        "deja de", "verdad incómoda", "nadie", "nunca", "equivoca",
    ),
}  # fmt: skip

# What a rewrite writes when a draft leaves it nothing to work with.
EMPTY_DRAFT: Mapping[str, str] = {
    "en": "Write your post here.",
    "es": "Escribe aquí tu publicación.",
}
