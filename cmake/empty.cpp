// Stands in for a module with no sources yet, so the tree configures.
