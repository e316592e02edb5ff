"""Language detection: lingua in low-accuracy mode, restricted to the seven default languages."""

import os
import subprocess
import sys

import pytest
from lingua import Language

from linkedin_posts.analysis.codes import LANGUAGE_CODES
from linkedin_posts.analysis.engine import Analyzer
from linkedin_posts.analysis.language import SAMPLE_CHARACTERS

SHORT = {
    "en": "Thrilled to announce that I have joined a new team!",
    "es": "Hoy empiezo un nuevo trabajo y estoy muy contento.",
    "fr": "Je suis ravi de rejoindre une nouvelle équipe aujourd'hui.",
    "de": "Heute beginne ich meine neue Stelle bei einer tollen Firma.",
    "pt": "Hoje começo um novo trabalho e estou muito feliz com isso.",
    "it": "Oggi inizio un nuovo lavoro e sono davvero felice.",
    "nl": "Vandaag begin ik aan een nieuwe baan en ik ben erg blij.",
}
LONG = {
    "en": (
        "Last year our team decided to stop writing long status reports. Instead, every Friday "
        "each of us shares one short note: what we finished, what got in the way, and what we "
        "learned. The notes take ten minutes to write and five to read.\n\n"
        "Six months later, meetings are shorter, problems surface earlier, and new colleagues "
        "understand the project much faster. Have you tried something similar with your team?"
    ),
    "es": (
        "El año pasado nuestro equipo decidió dejar de escribir largos informes de estado. En su "
        "lugar, cada viernes cada uno comparte una nota breve: qué terminó, qué lo frenó y qué "
        "aprendió. Escribirla lleva diez minutos y leerla, cinco.\n\n"
        "Seis meses después, las reuniones son más cortas, los problemas aparecen antes y las "
        "personas nuevas entienden el proyecto mucho más rápido. ¿Habéis probado algo parecido?"
    ),
    "fr": (
        "L'année dernière, notre équipe a décidé d'arrêter les longs rapports d'avancement. "
        "Désormais, chaque vendredi, chacun partage une courte note : ce qu'il a terminé, ce qui "
        "l'a bloqué et ce qu'il a appris. Il faut dix minutes pour l'écrire et cinq pour la "
        "lire.\n\n"
        "Six mois plus tard, les réunions sont plus courtes, les problèmes apparaissent plus tôt "
        "et les nouveaux collègues comprennent le projet bien plus vite. Avez-vous essayé quelque "
        "chose de semblable ?"
    ),
    "de": (
        "Letztes Jahr hat unser Team beschlossen, keine langen Statusberichte mehr zu schreiben. "
        "Stattdessen teilt jeden Freitag jeder eine kurze Notiz: was fertig geworden ist, was "
        "gebremst hat und was wir gelernt haben. Das Schreiben dauert zehn Minuten, das Lesen "
        "fünf.\n\n"
        "Sechs Monate später sind die Besprechungen kürzer, Probleme zeigen sich früher und neue "
        "Kolleginnen und Kollegen verstehen das Projekt viel schneller. Habt ihr so etwas schon "
        "ausprobiert?"
    ),
    "pt": (
        "No ano passado, a nossa equipa decidiu deixar de escrever longos relatórios de "
        "situação. Em vez disso, todas as sextas-feiras cada um de nós partilha uma nota curta: "
        "o que terminou, o que atrapalhou e o que aprendeu. Escrever leva dez minutos e ler, "
        "cinco.\n\n"
        "Seis meses depois, as reuniões são mais curtas, os problemas aparecem mais cedo e os "
        "novos colegas entendem o projeto muito mais depressa. Já experimentaram algo parecido?"
    ),
    "it": (
        "L'anno scorso il nostro team ha deciso di smettere di scrivere lunghi rapporti di "
        "stato. Al loro posto, ogni venerdì ciascuno di noi condivide una breve nota: cosa ha "
        "finito, cosa lo ha rallentato e cosa ha imparato. Scriverla richiede dieci minuti e "
        "leggerla cinque.\n\n"
        "Sei mesi dopo le riunioni sono più brevi, i problemi emergono prima e i nuovi colleghi "
        "capiscono il progetto molto più in fretta. Avete mai provato qualcosa di simile?"
    ),
    "nl": (
        "Vorig jaar besloot ons team te stoppen met lange statusrapporten. In plaats daarvan "
        "deelt iedereen elke vrijdag een korte notitie: wat er af is, wat ons tegenhield en wat "
        "we hebben geleerd. Schrijven kost tien minuten en lezen vijf.\n\n"
        "Zes maanden later zijn de vergaderingen korter, komen problemen eerder boven en "
        "begrijpen nieuwe collega's het project veel sneller. Hebben jullie ooit iets "
        "vergelijkbaars geprobeerd?"
    ),
}


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(
        languages=["en", "es", "fr", "de", "pt", "it", "nl"], high_accuracy=False, keywords=8
    )


def test_the_texts_are_short_and_long() -> None:
    assert all(30 <= len(text) <= 60 for text in SHORT.values())
    assert all(len(text) >= 400 for text in LONG.values())


@pytest.mark.parametrize("code", SHORT)
def test_short_text(analyzer: Analyzer, code: str) -> None:
    language = analyzer.analyze(SHORT[code], None)["language"]

    assert language["code"] == code
    assert language["source"] == "detected"
    assert 0 < language["confidence"] <= 1


@pytest.mark.parametrize("code", LONG)
def test_long_text(analyzer: Analyzer, code: str) -> None:
    language = analyzer.analyze(LONG[code], None)["language"]

    assert language["code"] == code
    assert language["source"] == "detected"
    assert language["confidence"] >= 0.9


@pytest.mark.parametrize(
    "text",
    [
        "\U0001f680\U0001f525\U0001f389",
        "https://example.com/launch www.example.org/docs",
        "#launch #AI #buildinpublic",
        "\U0001f680 https://example.com/launch #launch #AI \U0001f525",
        "Ok \U0001f44d",  # two letters: below the three a guess needs
    ],
)
def test_no_prose_no_language(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze(text, None)["language"] == {
        "code": None,
        "confidence": 0.0,
        "source": "detected",
    }


def test_given_language_is_reported_as_given(analyzer: Analyzer) -> None:
    # Spanish text, told it is Portuguese: the caller knows best, and is not second-guessed.
    result = analyzer.analyze(SHORT["es"], "pt")

    assert result["language"] == {"code": "pt", "confidence": 1.0, "source": "given"}
    assert result["readability"]["reading_ease_formula"] == "flesch"


def test_only_the_first_characters_are_read(analyzer: Analyzer) -> None:
    german = "\n\n".join([LONG["de"]] * 3)
    french = "\n\n".join([LONG["fr"]] * 10)
    assert SAMPLE_CHARACTERS < len(german) < len(french)

    # Mostly French, but its first SAMPLE_CHARACTERS characters are German.
    assert analyzer.analyze(german + "\n\n" + french, None)["language"]["code"] == "de"
    assert analyzer.analyze(french + "\n\n" + german, None)["language"]["code"] == "fr"


def test_the_written_out_language_codes_are_linguas() -> None:
    linguas = sorted(language.iso_code_639_1.name.lower() for language in Language.all())
    assert list(LANGUAGE_CODES) == linguas


def test_a_process_that_validates_requests_but_never_analyses_loads_no_lingua() -> None:
    code = (
        "import sys\n"
        "from linkedin_posts.config import Settings\n"
        "from linkedin_posts.main import create_app\n"
        "create_app(Settings(_env_file=None, analysis_languages='en,es,de'))\n"
        "print([m for m in sys.modules if m.split('.')[0] == 'lingua'])\n"
    )
    env = {**os.environ, "LP_ENV": "development"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
