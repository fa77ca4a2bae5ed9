from interviewer.surfaces.cli import main

main()
