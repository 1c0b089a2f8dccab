from model_container.monitor_quality.cli import main

raise SystemExit(main())
