"""Analytics behind Charter's Clarify-style processing jobs and Model Monitor checks.

Pure computation on in-memory arrays: no I/O, no database, no HTTP.  Jobs and
monitoring schedules load their data, call these modules and write the results
where SageMaker would.  :mod:`charter.analytics.bias` holds SageMaker Clarify's
pre-training (data) and post-training (model) bias metrics.
"""
