#!/usr/bin/env node
import "../dist/agentSimBin.js"
