"""Emergency plans (应急预案): the plan system, versions, sections, review, publication, revision."""
