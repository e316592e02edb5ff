"""Sample briefs that show what the template provider writes."""

from linkedin_posts.generation.providers.base import Brief, Length, Tone

# docs/generation.md tabulates their scores, and tests/generation/test_template.py holds every
# one of them to the analyzer.
SAMPLE_BRIEFS: tuple[Brief, ...] = (
    Brief(
        topic="Running code reviews that people look forward to",
        key_points=(
            "Keep pull requests under 400 lines so a reviewer can hold the whole change in mind.",
            "Review within one working day; a stale review costs more than a slow one.",
            "Comment on the code, never on the person, and say why a change matters.",
        ),
        audience="engineering managers",
        tone=Tone.PROFESSIONAL,
        length=Length.MEDIUM,
    ),
    Brief(topic="Working from home with small kids", tone=Tone.FRIENDLY, length=Length.SHORT),
    Brief(
        topic="What my first year as a product designer taught me",
        key_points=(
            "Ask for feedback early, when changing course is still cheap.",
            "Sit in on customer calls; one hour with a user beats a week of guessing.",
            "Keep a record of your decisions and the reasons behind them.",
            "Find one mentor outside your team who will tell you the truth.",
        ),
        audience="early-career designers",
        tone=Tone.INSPIRATIONAL,
        length=Length.LONG,
        call_to_action="Share the best advice you got in your first year.",
    ),
    Brief(
        topic="How to write a useful incident postmortem",
        key_points=(
            "Write the timeline first, while memories are fresh.",
            "Look for causes in the system, not for someone to blame.",
            "List the signals that could have warned you earlier.",
            "Turn every finding into an action with an owner and a date.",
            "Share the document widely and invite questions.",
        ),
        tone=Tone.EDUCATIONAL,
        length=Length.MEDIUM,
        call_to_action="Comment with the one section you would never skip.",
    ),
    Brief(
        topic="Meetings without an agenda",
        key_points=(
            "No agenda, no meeting: send it a day ahead or cancel.",
            "End every meeting with a decision, an owner and a date.",
        ),
        tone=Tone.BOLD,
        length=Length.SHORT,
        hashtags=False,
    ),
    Brief(
        topic="Why finance teams should own the cloud bill",
        audience="CFOs and finance leaders",
        tone=Tone.PROFESSIONAL,
        length=Length.LONG,
    ),
    Brief(
        topic=(
            "We moved our payments service from twelve microservices back to one modular "
            "monolith after three years, and our deploys, on-call nights and onboarding all "
            "got better"
        ),
        key_points=(
            "Most of our services changed together anyway, so every feature was a coordinated "
            "release across several repositories, with several pipelines and several reviews. "
            "One codebase turned that into one pull request and one deploy.",
            "On-call pages fell by half once network calls between our own services became "
            "function calls that cannot time out.",
            "New engineers ship in their first week now, because they clone one repository "
            "and run one command to get a working system on their laptop.",
        ),
        tone=Tone.FRIENDLY,
        length=Length.MEDIUM,
    ),
    Brief(
        topic="Cómo priorizar el backlog sin perder la cabeza",
        key_points=(
            "Ordena por impacto en el cliente, no por quién grita más fuerte.",
            "Revisa las prioridades cada dos semanas con datos recientes.",
            "Di que no a tiempo: cada sí tiene un coste oculto.",
        ),
        audience="responsables de producto",
        tone=Tone.PROFESSIONAL,
        length=Length.MEDIUM,
        language="es",
    ),
    Brief(
        topic="Aprender a programar después de los cuarenta",
        tone=Tone.FRIENDLY,
        length=Length.SHORT,
        language="es",
    ),
    Brief(
        topic="Volver a empezar después de un despido",
        tone=Tone.INSPIRATIONAL,
        length=Length.MEDIUM,
        language="es",
        call_to_action="Cuéntame en los comentarios qué te ayudó a ti.",
    ),
    Brief(
        topic="Cómo preparar una entrevista técnica",
        key_points=(
            "Repasa las estructuras de datos básicas: listas, diccionarios, árboles y grafos.",
            "Practica en voz alta; explicar lo que piensas cuenta tanto como la solución.",
            "Lee la descripción del puesto y prepara un ejemplo real para cada requisito.",
            "Haz simulacros con alguien que te dé una opinión sincera.",
            "Prepara tus propias preguntas sobre el equipo y la forma de trabajar.",
            "Duerme bien la noche anterior; el cansancio se nota más que los nervios.",
        ),
        audience="estudiantes de programación",
        tone=Tone.EDUCATIONAL,
        length=Length.LONG,
        language="es",
    ),
    Brief(
        topic="El trabajo en remoto no es el problema",
        key_points=(
            "El problema son las reuniones que podrían haber sido un correo.",
            "Sin objetivos claros, ninguna oficina salva a un equipo.",
            "La confianza se construye con resultados, no con horas conectado.",
        ),
        tone=Tone.BOLD,
        length=Length.MEDIUM,
        language="es",
        hashtags=False,
    ),
    Brief(
        topic="Ten habits of clear business writing",
        key_points=(
            "Lead with the answer.",
            "One idea per paragraph.",
            "Prefer short words.",
            "Cut adverbs.",
            "Use active verbs.",
            "Name the owner of every action.",
            "Put numbers in digits.",
            "Read it aloud before sending.",
            "Delete the first sentence.",
            "Ask what the reader must do next.",
        ),
        tone=Tone.EDUCATIONAL,
        length=Length.SHORT,
    ),
)
