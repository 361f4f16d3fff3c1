"""The web console: Jinja2 templates and the views that fill them.

``model_card_view`` renders a SageMaker model card as self-contained HTML (embedded
CSS, charts as inline SVG), which the console shows as is and the model card
export job turns into a PDF with WeasyPrint.
"""
