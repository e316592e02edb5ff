"""Analysis needs no network: every model and word list ships with the installed packages."""

import json
import os
import subprocess
import sys

TEXTS = {
    "en": "We shipped the new release today after months of work. What would you build?",
    "es": "Hoy lanzamos la nueva versión tras meses de trabajo. ¿Qué construirías con ella?",
    "fr": "Nous lançons la nouvelle version après des mois de travail. Qu'en pensez-vous ?",
    "de": "Heute erscheint nach Monaten Arbeit die neue Version. Was würdet ihr damit bauen?",
    "pt": "Hoje lançamos a nova versão depois de meses de trabalho. O que você construiria?",
    "it": "Oggi lanciamo la nuova versione dopo mesi di lavoro. Cosa costruireste con questa?",
    "nl": "Vandaag brengen we na maanden werk de nieuwe versie uit. Wat gaan jullie bouwen?",
}
# Runs before anything is imported: any attempt to reach the network fails loudly.
CHILD = """
import socket

def refuse(*args, **kwargs):
    raise OSError("analysis tried to use the network")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

import json
import sys

from linkedin_posts.analysis.engine import Analyzer

analyzer = Analyzer(
    languages=["en", "es", "fr", "de", "pt", "it", "nl"], high_accuracy=False, keywords=8
)
analyzer.preload()
texts = json.loads(sys.argv[1])
print(json.dumps({code: analyzer.analyze(text, None) for code, text in texts.items()}))
"""


def test_analysis_runs_without_network() -> None:
    env = {
        **os.environ,
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "ALL_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(TEXTS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert child.returncode == 0, child.stderr
    results = json.loads(child.stdout)
    assert {code: result["language"]["code"] for code, result in results.items()} == {
        code: code for code in TEXTS
    }
    for code, result in results.items():
        assert result["keywords"], code
        assert result["readability"]["reading_ease_formula"], code
        assert result["sentiment"]["basis"] == ("text" if code == "en" else "none"), code
