from govmedia.cli import main

main()
