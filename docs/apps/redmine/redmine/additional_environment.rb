# Read by Redmine's config/application.rb (linked there by the installer): log to stdout, where Lambda collects it,
# and gzip text responses for clients that ask (Redmine alone compresses nothing; usually a front proxy does it).
# Outside ActionDispatch::Static so that the stylesheets and scripts are compressed too; binary types are left alone.
config.logger = ActiveSupport::TaggedLogging.new(ActiveSupport::Logger.new($stdout))
config.log_level = :warn
config.middleware.insert_before ActionDispatch::Static, Rack::Deflater,
                                include: %w[text/html text/css text/javascript application/javascript application/json
                                            text/csv application/xml]
