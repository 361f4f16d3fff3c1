"""What the faces and the built-ins both draw: charts, pages, PDFs.

The console, the model card export job, the Clarify report and the Model Monitor
report all draw the same kinds of things, and used to each carry their own copy.
They live here once, below every layer that uses them (ARCHITECTURE.md: shared
helpers live in a module both may import, never in one of the two):

* :mod:`~charter.render.charts`: matplotlib figures to inline SVG (or PNG/SVG
  bytes), under one lock and one house style; the model card schema's chart
  metrics (``bar_chart``, ``linear_graph``, ``matrix``);
* :mod:`~charter.render.pages`: the Jinja2 environment for a template folder and
  the report stylesheet (``report.css``) every printed page starts from;
* :mod:`~charter.render.pdf`: HTML to PDF (WeasyPrint);
* :mod:`~charter.render.formatting`: numbers and times as people read them;
* :mod:`~charter.render.model_card`: a SageMaker model card as a page (HTML for
  the console, PDF for export jobs);
* :mod:`~charter.render.explanations`: SHAP and partial dependence plots of
  :mod:`charter.analytics.explain` results, as image bytes.

matplotlib and WeasyPrint are imported on first use, so importing this package
is cheap.
"""
