from model_container.monitor.cli import main

raise SystemExit(main())
