"""The PAPW 2020 contact-tracing city (Feng et al. 2021, IDRLECA; spec papw-contact-tracing.md): people who move
hour by hour between residential, working and commercial areas, infect their acquaintance groups and the strangers
they meet, and live under individual interventions (confine, quarantine, isolate, hospitalise)."""
