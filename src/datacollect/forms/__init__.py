"""Forms: what a respondent is asked, and how the answers are checked.

* ``schema``      the form schema model (``FormSchema``: pages, fields, rules, settings) and its
                  save-time checks, which answer every problem at once (``FormSchemaError``);
* ``validation``  the one validation engine the server trusts (``validate_submission``), for
                  submissions, drafts and bulk imports alike;
* ``jsonschema``  the export of a form as a JSON Schema (Draft 2020-12) for integrators.

A form is versioned: ``name`` + ``version`` (``supplier_emissions`` + ``2``) gives its key
``supplier_emissions_v2``. A saved version never changes; a change is a new version.
"""
