"""Example workflows shipped with the product (the editor's "create from an example")."""
