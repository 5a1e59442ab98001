-- plugins
return {}
