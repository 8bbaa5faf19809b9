"""Web adapter: the JSON API (`api/`, Dataverse under `api/dataverse/`) and the pages (`ui/`), one use case each."""
