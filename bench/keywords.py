"""YAKE keywords: our extractor against the yake library, per call and in memory.

    .venv/bin/python bench/keywords.py [--runs 15] [--texts 20]

Both run in this process, on the same texts: for each length, `--texts` different windows of a
post in five languages, each implementation in turn over all of them, `--runs` times (turns
alternate, so that both see the same load); the table shows the median milliseconds per call.
yake keeps caches between calls (tags, similarities); these texts share words, which helps it.
The memory each adds is measured in a fresh process for each, which has already loaded what the
service loads anyway (regex, stop-words): RSS after the import, and after a first extraction.
"""

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import yake

from linkedin_posts.analysis.keywords import extract_keywords, stopwords_for

LENGTHS = (200, 1000, 3000)
# Paragraphs in the languages we serve, so that the windows of each length differ in language.
SOURCE = " ".join(
    [
        "Last week our team shipped the new onboarding flow for Acme Cloud, and I want to share "
        "what we learned along the way. 🚀\n\nFirst, talk to customers early. We interviewed 23 "
        "users before writing a single line of code, and half of our assumptions were wrong. The "
        "data pipeline we thought was the bottleneck wasn't; the real problem was the confusing "
        "pricing page. Second, ship small: 14 small changes over six weeks, each with a clear "
        "metric (activation rate, time-to-first-dashboard, support tickets per new account). "
        "Activation went from 31% to 47%. #ProductManagement #SaaS #Onboarding",
        "Hace cinco años fundamos Datalia en un garaje de Valencia con tres portátiles, un "
        "préstamo de 20.000 € y muchas ganas. Hoy somos 85 personas en Valencia, Madrid y Ciudad "
        "de México. 🎉 Nuestros primeros clientes no querían «inteligencia artificial»; querían "
        "reducir el tiempo de cierre contable de 12 días a 3. Cuando cambiamos el discurso, las "
        "ventas se triplicaron. ¡Estamos contratando ingenieros de datos! #Emprendimiento #IA",
        "Il y a un an, j'ai quitté un CDI confortable dans une grande banque pour rejoindre une "
        "start-up de 12 personnes à Lyon. Dès la deuxième semaine, je pilotais seule la refonte "
        "de notre application mobile, avec un budget de 150 000 € et une équipe de quatre "
        "développeurs. Une idée le lundi, un prototype le mercredi, des retours clients le "
        "vendredi. Et vous, grand groupe ou start-up ? #Carrière #Startup #FinTech",
        "Nach 15 Jahren im Vertrieb habe ich eine Sache gelernt: Kunden kaufen keine Produkte, "
        "sie kaufen Lösungen für ihre Probleme. 💡 Letzte Woche sprach ich mit dem "
        "Geschäftsführer eines mittelständischen Maschinenbauers aus Stuttgart: 480 "
        "Mitarbeitende, drei Standorte, eine Exportquote von 70 %. Seine größte Sorge war der "
        "Fachkräftemangel. Rund 12 Stunden pro Woche und Ingenieur lassen sich automatisieren, "
        "z.B. Angebote, Stücklisten und Lieferzeiten. #Vertrieb #B2B #Mittelstand #KI",
        "Há três anos eu era analista financeira num banco em Lisboa. Hoje lidero a equipa de "
        "dados de uma scale-up de energia solar com clientes em Portugal, Espanha e Brasil. ☀️ "
        "Comecei com Python para automatizar os relatórios mensais que fazia à mão no Excel: em "
        "seis meses, um trabalho de dois dias passou a levar vinte minutos. Estamos a contratar "
        "dois Data Engineers em Lisboa ou no Porto. #Dados #Python #EnergiaSolar",
    ]
    * 4
)


def texts(length: int, count: int) -> list[str]:
    step = (len(SOURCE) - length) // count
    return [SOURCE[i * step : i * step + length] for i in range(count)]


def per_call_ms(
    candidates: dict[str, Callable[[str], object]], batch: list[str], runs: int
) -> dict[str, float]:
    """Return each candidate's median ms per call; runs alternate, so both see the same load."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(runs):
        for name, extract in candidates.items():
            gc.collect()
            started = time.perf_counter()
            for text in batch:
                extract(text)
            times[name].append((time.perf_counter() - started) / len(batch) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


# The service has regex, stop-words and our package loaded anyway: memory counts from there.
MEMORY_PROBE = """
import json, psutil, regex, stop_words, linkedin_posts
process = psutil.Process()
before = process.memory_info().rss
{imports}
imported = process.memory_info().rss
{first_call}
print(json.dumps([(imported - before) / 1e6, (process.memory_info().rss - before) / 1e6]))
"""
PROBES = {
    "ours": (
        "from linkedin_posts.analysis.keywords import extract_keywords, stopwords_for",
        "extract_keywords({text!r}, stopwords=stopwords_for('en'))",
    ),
    "yake": (
        "import yake\nfrom stop_words import get_stop_words",
        "yake.KeywordExtractor(lan='en', n=3, top=8, stopwords=set(get_stop_words('en')))"
        ".extract_keywords({text!r})",
    ),
}


def memory_mb(name: str) -> tuple[float, float]:
    imports, first_call = PROBES[name]
    code = MEMORY_PROBE.format(imports=imports, first_call=first_call.format(text=SOURCE[:3000]))
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    imported, after_call = json.loads(result.stdout)
    return imported, after_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--texts", type=int, default=20)
    args = parser.parse_args()

    stopwords = stopwords_for("en")
    reference = yake.KeywordExtractor(lan="en", n=3, top=8, stopwords=set(stopwords))
    candidates: dict[str, Callable[[str], object]] = {
        "ours": lambda text: extract_keywords(text, stopwords=stopwords),
        "yake": reference.extract_keywords,
    }
    print(f"median ms per call over {args.runs} runs of {args.texts} texts; top 8, n=3\n")
    print("| characters | ours (ms) | yake (ms) | yake / ours |\n|---:|---:|---:|---:|")
    for length in LENGTHS:
        batch = texts(length, args.texts)
        per_call_ms(candidates, batch, 2)  # warm up
        medians = per_call_ms(candidates, batch, args.runs)
        ratio = medians["yake"] / medians["ours"]
        print(f"| {length} | {medians['ours']:.2f} | {medians['yake']:.2f} | {ratio:.1f}x |")

    print("\n| RSS added (fresh process) | import | import + first 3000-character call |")
    print("|---|---:|---:|")
    for name in PROBES:
        imported, after_call = memory_mb(name)
        print(f"| {name} | {imported:.1f} MB | {after_call:.1f} MB |")


if __name__ == "__main__":
    main()
